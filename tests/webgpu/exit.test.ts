// Exit stress: a process that used WebGPU ends with the exit status it chose, never with a crash.
// 40 children of tests/webgpu/exit_child.mjs (every kind of work × every way of ending) and 4 runs of
// the CLI start at once and run in parallel, the load under which exit used to crash: before the engine
// disposed its devices at 'exit', about 1 child in 12 died with SIGSEGV inside SwiftShader while
// exit(3) ran static destructors (docs/WEBGPU.md, "Exiting"). Each child's status or signal is checked
// against the intended one, and that the work before the exit completed (`ready …`).
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testBackends } from '../harness.js';

const enabled = testBackends().includes('webgpu');
if (!enabled) console.log('tests/webgpu/exit.test.ts: SKIPPED — webgpu is not in PUGD_TEST_BACKENDS');

const child = fileURLToPath(new URL('./exit_child.mjs', import.meta.url));
const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

interface Case {
  name: string;
  args: string[];
  /** Exit status expected, or null when the process is to die by `signal`. */
  status: number | null;
  signal: NodeJS.Signals | null;
  /** stdout must contain it (the work finished before the exit). */
  ready: string;
  /** stderr must match it (the error that ended the process is the deliberate one). */
  stderr?: RegExp;
  /** Sends this signal once stdout contains `ready`. */
  sendOnReady?: NodeJS.Signals;
}

const works = ['ops', 'optim', 'lost', 'disposed', 'throw'];
const ways: Record<string, Pick<Case, 'status' | 'signal'> & { stderr?: (work: string) => RegExp }> = {
  natural: { status: 0, signal: null },
  exitcode: { status: 3, signal: null },
  exit: { status: 5, signal: null },
  uncaught: { status: 1, signal: null, stderr: (w) => (w === 'throw' ? /deliberate error inside the step closure/ : /deliberate uncaught exception/) },
  rejection: { status: 1, signal: null, stderr: () => /deliberate unhandled rejection/ },
  sigint: { status: null, signal: 'SIGINT' },
  sigterm: { status: null, signal: 'SIGTERM' },
  handler: { status: 143, signal: null },
};

const out = mkdtempSync(join(tmpdir(), 'pugd-exit-'));
const train = (dir: string, epochs: number) => [
  cli, 'train', '--dataset', 'mnist', '--width', '2', '--batch-size', '8', '--limit-train', '16', '--limit-test', '8',
  '--epochs', String(epochs), '--backend', 'webgpu', '--json', '--out', join(out, dir),
];
const cases: Case[] = [
  ...works.flatMap((work) =>
    Object.entries(ways).map(([way, w]) => ({
      name: `${work} then ${way}`, args: [child, work, way], status: w.status, signal: w.signal, ready: `ready ${work}`, stderr: w.stderr?.(work),
    })),
  ),
  // The CLI disposes in its own `finally`; the engine's exit teardown is the backstop.
  { name: 'pugd info --backend webgpu', args: [cli, 'info', '--backend', 'webgpu', '--json'], status: 0, signal: null, ready: '"name":"webgpu","ok":true' },
  { name: 'pugd info --backend webgpu (second)', args: [cli, 'info', '--backend', 'webgpu', '--json'], status: 0, signal: null, ready: '"name":"webgpu","ok":true' },
  { name: 'pugd train --backend webgpu to the end', args: train('done', 1), status: 0, signal: null, ready: '"event":"done"' },
  // Ctrl-C during training (after the first epoch, when its handler is surely installed): the CLI
  // stops after the step and exits 130.
  { name: 'pugd train --backend webgpu, SIGINT mid-run', args: train('interrupted', 50), status: 130, signal: null, ready: '"event":"epoch"', sendOnReady: 'SIGINT' },
];

interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const CHILD_LIMIT_S = 300;

function run(c: Case): Promise<Result> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, c.args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PUGD_DATA: out } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    p.stdout.on('data', (d) => {
      stdout += d;
      if (c.sendOnReady && !sent && stdout.includes(c.ready)) {
        sent = true;
        p.kill(c.sendOnReady);
      }
    });
    p.stderr.on('data', (d) => (stderr += d));
    // A hang is a failure too, reported as such.
    const timer = setTimeout(() => {
      stderr += `\n[exit.test: no exit within ${CHILD_LIMIT_S} s: killed]`;
      p.kill('SIGKILL');
    }, CHILD_LIMIT_S * 1000);
    p.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

describe.skipIf(!enabled)(`WebGPU processes exit with the status they chose (${cases.length} children at once)`, () => {
  const results = new Map<string, Result>();
  beforeAll(async () => {
    const rs = await Promise.all(cases.map(run));
    cases.forEach((c, i) => results.set(c.name, rs[i]));
  }, 400_000);

  it.each(cases)('$name', (c) => {
    const r = results.get(c.name)!;
    const tail = `\nstdout: ${r.stdout.slice(-600)}\nstderr: ${r.stderr.slice(-1500)}`;
    const crashed = r.signal === 'SIGSEGV' || r.signal === 'SIGABRT' || r.signal === 'SIGBUS' || r.signal === 'SIGILL';
    expect(crashed, `${c.name}: crashed with ${r.signal} (status ${r.status})${tail}`).toBe(false);
    expect(r.stderr, `${c.name}: hung${tail}`).not.toContain('[exit.test: no exit within');
    expect({ status: r.status, signal: r.signal }, `${c.name}: wrong exit${tail}`).toEqual({ status: c.status, signal: c.signal });
    expect(r.stdout, `${c.name}: the work did not finish before the exit${tail}`).toContain(c.ready);
    if (c.stderr) expect(r.stderr, `${c.name}: not ended by the deliberate error${tail}`).toMatch(c.stderr);
  });
});
