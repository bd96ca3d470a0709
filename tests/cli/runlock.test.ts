// One writer per run folder, through the built CLI (WASM, a few MNIST images): two runs started
// together into one folder, or two resumes of one run, leave exactly one writer and the other exits 2
// naming the holder's PID; a lock left by a killed process is taken over with a note and its
// temporary files go with it (no one else's); a lock of another host is reported with how to clear it;
// the lock is gone after every kind of exit.
import { describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `pugd-${p}-`));
const env = { ...process.env, PUGD_DATA: tmp('nodata') };
const small = ['--dataset', 'mnist', '--width', '2', '--batch-size', '16', '--limit-train', '160', '--limit-test', '32', '--backend', 'wasm'];
const pugd = (args: string[], cwd: string) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd, env, timeout: 120_000 });

/** Starts both commands at once; their exit codes, stderr and PIDs. */
async function together(a: string[], b: string[], cwd: string) {
  const start = (args: string[]) => {
    const c = spawn(process.execPath, [cli, ...args], { cwd, env });
    let err = '';
    c.stderr.on('data', (d) => { err += d; });
    return new Promise<{ code: number | null; stderr: string; pid: number }>((res) => c.on('exit', (code) => res({ code, stderr: err, pid: c.pid! })));
  };
  return Promise.all([start(a), start(b)]);
}

/** The PID of a process that has ended. */
const deadPid = () => spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout.trim();

describe('run folder lock', () => {
  it('two fresh runs into one folder: one trains, the other exits 2 naming its PID; two resumes likewise', async () => {
    const cwd = tmp('lock-race');
    const [a, b] = await together(['train', ...small, '--epochs', '2', '--seed', '0', '--out', 'race'], ['train', ...small, '--epochs', '2', '--seed', '3', '--out', 'race'], cwd);
    expect([a.code, b.code].sort()).toEqual([0, 2]);
    const [won, lost] = a.code === 0 ? [a, b] : [b, a];
    expect(lost.stderr.trim()).toMatch(new RegExp(`^pugd: error: --out race is in use by another pugd \\(PID ${won.pid} on ${hostname()}, started \\S+: .*\\); wait for it to end or stop it \\(kill ${won.pid}\\)`));
    const seed = won === a ? 0 : 3;
    expect(JSON.parse(readFileSync(join(cwd, 'race/config.json'), 'utf8')).seed).toBe(seed);
    expect(JSON.parse(readFileSync(join(cwd, 'race/summary.json'), 'utf8')).config.seed).toBe(seed);
    expect(existsSync(join(cwd, 'race/.pugd.lock'))).toBe(false);

    const [c, d] = await together(['train', '--resume', 'race', '--epochs', '4'], ['train', '--resume', 'race', '--epochs', '3'], cwd);
    expect([c.code, d.code].sort()).toEqual([0, 2]);
    const loser = c.code === 2 ? c : d;
    expect(loser.stderr).toMatch(/is in use by another pugd/);
    const metrics = readFileSync(join(cwd, 'race/metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).epoch);
    expect(metrics).toEqual(c.code === 0 ? [1, 2, 3, 4] : [1, 2, 3]);
    expect(existsSync(join(cwd, 'race/.pugd.lock'))).toBe(false);
  });

  it('a stale lock (its process is gone) is taken over with a note, removing only that process\'s temporary files', () => {
    const cwd = tmp('lock-stale');
    expect(pugd(['train', ...small, '--epochs', '1', '--out', 'run'], cwd).status).toBe(0);
    const dead = deadPid();
    writeFileSync(join(cwd, 'run/.pugd.lock'), JSON.stringify({ pid: Number(dead), host: hostname(), started: '2026-01-01T00:00:00.000Z', command: 'pugd train' }));
    const theirs = join(cwd, 'run/checkpoints', `step-000010.safetensors.tmp-${dead}`);
    const other = join(cwd, 'run/checkpoints', `step-000010.safetensors.tmp-${process.pid}`); // a live process's
    writeFileSync(theirs, 'x');
    writeFileSync(other, 'x');
    const r = pugd(['train', '--resume', 'run', '--epochs', '2'], cwd);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`pugd: note: --out run had a stale lock of PID ${dead} on ${hostname()}, started 2026-01-01T00:00:00.000Z, which no longer runs (killed?); this run took it over and removed its 1 temporary file(s)`);
    expect(existsSync(theirs)).toBe(false);
    expect(existsSync(other)).toBe(true);
    expect(existsSync(join(cwd, 'run/.pugd.lock'))).toBe(false);
  });

  it('a lock of another host or an unreadable lock exits 2 with how to clear it; a failed run leaves no lock', () => {
    const cwd = tmp('lock-host');
    mkdirSync(join(cwd, 'run'));
    writeFileSync(join(cwd, 'run/.pugd.lock'), JSON.stringify({ pid: 1, host: 'elsewhere', started: 'then', command: 'pugd train' }));
    const r = pugd(['train', ...small, '--epochs', '1', '--out', 'run'], cwd);
    expect([r.status, r.stderr.trim()]).toEqual([2, 'pugd: error: --out run is in use by another pugd (PID 1 on elsewhere, started then: another host, so pugd cannot tell whether it still runs); if it does not, remove the lock: rm run/.pugd.lock']);
    writeFileSync(join(cwd, 'run/.pugd.lock'), '{"pid":');
    const u = pugd(['train', ...small, '--epochs', '1', '--out', 'run'], cwd);
    expect([u.status, u.stderr.trim()]).toEqual([2, 'pugd: error: --out run: the lock file run/.pugd.lock is not a pugd lock (unreadable); if no pugd is writing to this folder, remove it: rm run/.pugd.lock']);
    // Following the advice clears it; a run that then fails (diverges) releases its lock.
    spawnSync('rm', ['run/.pugd.lock'], { cwd });
    const f = pugd(['train', ...small, '--epochs', '1', '--optimizer', 'sgd', '--lr', '1e6', '--out', 'run'], cwd);
    expect(f.status).toBe(1);
    expect(existsSync(join(cwd, 'run/.pugd.lock'))).toBe(false);
  });
});
