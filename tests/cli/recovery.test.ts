// Recovering runs that went wrong, through the built CLI (dist/cli.js in a child process, WASM, a
// few MNIST images): divergence is caught before NaN for every optimizer, the run stops with exit 1
// naming the last checkpoint whose loss was sane, and the command the message advises is run as
// printed until the run completes; --resume CKPT --lr X is recorded in the manifest and metrics.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `pugd-${p}-`));
const env = { ...process.env, PUGD_DATA: tmp('nodata') };
const small = ['--dataset', 'mnist', '--width', '2', '--batch-size', '16', '--limit-train', '160', '--limit-test', '32', '--epochs', '1', '--backend', 'wasm', '--log-steps', '--checkpoint-every', '1'];

const pugd = (args: string[], cwd: string) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd, env, timeout: 120_000 });
const jsonl = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const manifests = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => /^step-\d+\.json$/.test(f)).sort() : []);

/** The shell words of the command a divergence message advises (paths and numbers need no quotes here). */
function advised(stderr: string): string[] {
  const m = /: pugd (train .*)$/.exec(stderr.trim().split('\n').at(-1)!);
  expect(m, stderr).not.toBeNull();
  return m![1].split(' ');
}

/** Runs the advised commands as printed until one completes; returns each failure's stderr. */
function followAdvice(first: string[], cwd: string, tries: number): string[] {
  const failures: string[] = [];
  let r = pugd(first, cwd);
  while (r.status !== 0) {
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^pugd: error: training diverged in epoch \d+ /m);
    failures.push(r.stderr);
    expect(failures.length, 'advice followed too often').toBeLessThanOrEqual(tries);
    r = pugd(advised(r.stderr), cwd);
  }
  return failures;
}

describe('divergence', () => {
  it('SGD at lr 20 stops at a runaway loss, names the last sane checkpoint, and the advised resume with a lower --lr completes', () => {
    const cwd = tmp('div-sgd');
    const failures = followAdvice(['train', ...small, '--optimizer', 'sgd', '--lr', '20', '--out', 'run'], cwd, 4);
    expect(failures.length).toBeGreaterThan(0);
    const first = failures[0].trim().split('\n').at(-1)!;
    expect(first).toMatch(/the loss rose to \S+, more than 10× its running level/);
    expect(first).not.toMatch(/NaN|Infinity/);
    const sane = /the last checkpoint whose loss was sane is (\S+\.json)/.exec(first)![1];
    const later = /; (\S+\.json), written from weights that did not train sanely, was moved to /.exec(first)![1];
    expect(existsSync(join(cwd, 'run/checkpoints/diverged', later.split('/').at(-1)!))).toBe(true);
    expect(advised(failures[0])).toEqual(['train', '--resume', `run/checkpoints/${sane.split('/').at(-1)}`, '--lr', '2']);

    // The completed run: every change is in the config of its checkpoints and in metrics.jsonl.
    const last = manifests(join(cwd, 'run/checkpoints')).at(-1)!;
    const m = JSON.parse(readFileSync(join(cwd, 'run/checkpoints', last), 'utf8'));
    expect(m.step).toBe(10);
    const lrs = [20, ...failures.map((f) => Number(advised(f).at(-1)))];
    expect(m.config.changes.map((c: any) => [c.set.lr.from, c.set.lr.to])).toEqual(lrs.slice(1).map((to, i) => [lrs[i], to]));
    expect(m.config.lr).toBe(lrs.at(-1));
    const metrics = jsonl(join(cwd, 'run/metrics.jsonl'));
    expect(metrics.length).toBe(1);
    expect(metrics[0].lr).toBe(lrs.at(-1)); // constant over a 1-epoch cosine's only epoch
    expect(metrics[0].changed.set.lr).toEqual({ from: lrs.at(-2), to: lrs.at(-1) });
    const steps = jsonl(join(cwd, 'run/steps.jsonl'));
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(steps.every((s) => Number.isFinite(s.loss))).toBe(true);
  });

  for (const optimizer of ['pugd', 'adam']) {
    it(`${optimizer} at lr 1e6 stops at step 1 (exit 1, weights beyond the bound, no checkpoint), and the advised fresh start in the same folder runs`, () => {
      const cwd = tmp(`div-${optimizer}`);
      const r = pugd(['train', ...small, '--optimizer', optimizer, '--lr', '1e6', '--out', 'run'], cwd);
      expect(r.status, r.stderr).toBe(1);
      const line = r.stderr.trim().split('\n').at(-1)!;
      expect(line).toMatch(/^pugd: error: training diverged in epoch 1 between step 0 and step 1: the weights' L2 norm reached \S+, above the bound 100000 .*no sane checkpoint was written before\. Start again with a lower learning rate: pugd train /);
      expect(manifests(join(cwd, 'run/checkpoints'))).toEqual([]);
      const words = advised(r.stderr);
      expect(words.slice(-2)).toEqual(['--lr', '100000']);
      expect(words).toContain('--out');
      // The advised command is accepted in the same folder (a note, not "already holds a run").
      const again = pugd(words, cwd);
      expect(again.stderr).toMatch(/pugd: note: --out run holds a run that stopped before writing a checkpoint; starting it afresh/);
      expect(again.status).toBe(1);
      expect(again.stderr.trim().split('\n').at(-1)).toMatch(/Start again with a lower learning rate: pugd train .* --lr 10000$/);
    });
  }

  it('a resume that extends --epochs and diverges advises a resume that keeps its --epochs, and that advice completes', () => {
    const cwd = tmp('div-resume');
    expect(pugd(['train', ...small, '--optimizer', 'sgd', '--lr', '0.05', '--out', 'run'], cwd).status).toBe(0);
    // The last sane checkpoint is the finished 1-epoch run's own (its config says 1 epoch).
    const failures = followAdvice(['train', '--resume', 'run', '--epochs', '2', '--lr', '50'], cwd, 4);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]).toMatch(/the last checkpoint whose loss was sane is \S+step-000010\.json/);
    expect(advised(failures[0])).toEqual(['train', '--resume', 'run/checkpoints/step-000010.json', '--epochs', '2', '--lr', '5']);
    const metrics = jsonl(join(cwd, 'run/metrics.jsonl'));
    expect(metrics.map((e) => e.epoch)).toEqual([1, 2]);
    expect(metrics.every((e) => Number.isFinite(e.train_loss))).toBe(true);
  });

  it('--resume CKPT accepts --schedule and --warmup, records them, and refuses other settings', () => {
    const cwd = tmp('resume-change');
    const twoEpochs = [...small.slice(0, small.indexOf('--epochs')), '--epochs', '2', '--backend', 'wasm'];
    expect(pugd(['train', ...twoEpochs, '--optimizer', 'sgd', '--lr', '0.05', '--out', 'run'], cwd).status).toBe(0);
    const ck = join('run/checkpoints', manifests(join(cwd, 'run/checkpoints'))[0]); // after epoch 1
    const r = pugd(['train', '--resume', ck, '--epochs', '3', '--schedule', 'constant', '--lr', '0.02'], cwd);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('changed on resume: lr 0.05 → 0.02, schedule cosine → constant');
    const metrics = jsonl(join(cwd, 'run/metrics.jsonl'));
    expect(metrics.map((e) => e.lr)).toEqual([0.05, 0.02, 0.02]);
    expect(metrics[1].changed.set).toEqual({ lr: { from: 0.05, to: 0.02 }, schedule: { from: 'cosine', to: 'constant' } });
    expect(metrics[2].changed).toBeUndefined();
    const bad = pugd(['train', '--resume', 'run', '--epochs', '4', '--warmup', '4'], cwd);
    expect([bad.status, bad.stderr.trim()]).toEqual([2, 'pugd: error: --warmup 4 must be shorter than --epochs 4']);
    const refused = pugd(['train', '--resume', 'run', '--batch-size', '8'], cwd);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/--batch-size cannot be changed when resuming .*--lr, --schedule, --warmup/);
  });
});
