// A reader that goes away must not end a run: `pugd train … | head -1` closed the pipe after the first
// line, the next write failed with EPIPE, and Node's unhandled 'error' event crashed the run (exit 1,
// a stack trace). Now the output is dropped and training finishes with all its files.
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../../dist/cli.js', import.meta.url).pathname;

describe('closed output', () => {
  it('pugd train whose stdout and stderr readers close after the first line trains to the end (exit 0, summary written)', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pugd-epipe-')), 'run');
    const args = [cli, 'train', '--dataset', 'mnist', '--width', '2', '--batch-size', '16', '--limit-train', '64', '--limit-test', '32', '--epochs', '2', '--backend', 'wasm', '--json', '--out', out];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    // Close both pipes as soon as the first line arrives, as `| head -1` does.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    child.stderr.on('data', (d) => (stderr += String(d)));
    setTimeout(() => child.stderr.destroy(), 50);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toMatch(/Unhandled 'error' event|EPIPE/);
    expect(code).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { epochs?: number };
    expect(summary).toBeTruthy();
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
  }, 120_000);
});
