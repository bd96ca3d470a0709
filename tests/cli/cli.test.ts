// The built `pugd` command (dist/cli.js, made by `npm test`'s build) run as a user runs it: help,
// and every kind of bad input giving one line on stderr and exit code 2.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
const empty = mkdtempSync(join(tmpdir(), 'pugd-nodata-'));

export function pugd(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeout?: number } = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd ?? empty,
    env: { ...process.env, PUGD_DATA: empty, ...opts.env },
    timeout: opts.timeout ?? 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pugd command line', () => {
  it('is built', () => {
    expect(existsSync(cli), 'run `npm run build` (npm test does it first)').toBe(true);
  });

  it('--help on the command and on each subcommand', () => {
    const top = pugd(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: pugd <command>/);
    for (const c of ['train', 'eval', 'info']) {
      const h = pugd([c, '--help']);
      expect(h.code, c).toBe(0);
      expect(h.stdout, c).toMatch(new RegExp(`^Usage: pugd ${c}`));
    }
    expect(pugd([]).code).toBe(2);
  });

  it('bad flags, bad values, missing data and bad checkpoints: one line, exit code 2', () => {
    const bad = empty + '/not-a-checkpoint.json';
    writeFileSync(bad, '{"format": "pugd-checkpoint", "version": 1, ');
    const cases: [string[], RegExp][] = [
      [['trian'], /unknown command 'trian' \(did you mean 'train'\?\)/],
      [['train', '--learning-rate', '0.1'], /unknown option '--learning-rate' for 'pugd train'/],
      [['train', '--lr', '-0.1'], /--lr: -0\.1 must be greater than 0/],
      [['train', '--batch-size', 'many'], /--batch-size: 'many' is not a number/],
      [['train', '--optimizer', 'lion'], /--optimizer: 'lion' is not one of/],
      [['train', '--model', 'resnet19', '--dataset', 'mnist'], /--model: unknown model 'resnet19'/],
      [['train', '--dataset', 'cifar100'], /cifar100 data not found: give --data PATH or set PUGD_DATA \(tried .*cifar100/],
      [['train', '--dataset', 'mnist', '--data', '/nonexistent/mnist'], /--data \/nonexistent\/mnist: no such file or folder/],
      [['train', '--dataset', 'imagefolder'], /--dataset imagefolder needs --data PATH/],
      [['train', '--dataset', 'mnist', '--epochs', '2', '--warmup', '2'], /--warmup 2 must be shorter than --epochs 2/],
      [['train', '--resume', '/nonexistent/run'], /--resume: checkpoint '\/nonexistent\/run' does not exist/],
      [['train', '--resume', bad], /--resume: checkpoint .*the manifest is not valid JSON/],
      [['train', '--resume', bad, '--momentum', '0.5'], /--momentum cannot be changed when resuming/],
      [['eval'], /pugd eval needs --checkpoint CKPT/],
      [['eval', '--checkpoint', empty], /--checkpoint: checkpoint .* holds no checkpoint/],
      [['info', '--backend', 'cuda'], /--backend: 'cuda' is not one of auto, webgpu, wasm/],
    ];
    for (const [args, re] of cases) {
      const r = pugd(args);
      expect(r.code, args.join(' ')).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines.length, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(lines[0], args.join(' ')).toMatch(/^pugd: error: /);
      expect(lines[0], args.join(' ')).toMatch(re);
      expect(r.stdout, args.join(' ')).toBe('');
    }
  });

  it('info names the backends and what they run on', () => {
    const r = pugd(['info', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    const wasm = info.backends.find((b: { name: string }) => b.name === 'wasm');
    expect(wasm.ok).toBe(true);
    expect(wasm.info.description).toMatch(/^wasm \(SIMD/);
  });
});

describe('pugd train on a terminal that reports 0 columns', () => {
  // `script` gives the command a pseudo-terminal; with no terminal above it the pty's window size is
  // 0×0, so stderr.isTTY is true and stderr.columns is 0 (the case that used to end the run with
  // "Invalid count value: -1" when the epoch's bar was cleared).
  it.runIf(process.platform === 'linux')('trains to the end, draws the bar at 80 columns and leaves metrics and weights', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pugd-pty-'));
    const out = join(dir, 'run');
    const cmd = [process.execPath, cli, 'train', '--dataset', 'mnist', '--width', '2', '--batch-size', '16',
      '--limit-train', '32', '--limit-test', '32', '--epochs', '1', '--backend', 'wasm', '--out', out].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', cwd: dir, env: { ...process.env }, timeout: 120_000 });
    expect(r.error, 'util-linux `script` is needed for this test').toBeUndefined();
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).not.toMatch(/error/);
    expect(r.stdout).toMatch(/\repoch 1\/1 \[[#-]+\] \d\/2 /); // drawn in place, as on a terminal
    expect(r.stdout).toMatch(/\r {79}\r/); // and cleared at the 80-column default
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
  });
});
