// `pugd compare` on a tiny data set (ResNet-20 at width 2 on 128 MNIST images, WASM): the table's
// figures are recomputed here from the runs' own metrics.jsonl; a compare interrupted with SIGINT in
// the middle of a run resumes where it stopped (finished runs are not run again, the interrupted one
// continues from its checkpoint) and ends with exactly the per-epoch figures of an uninterrupted
// compare; --equal time plans epochs from timing runs; bad settings are one line, exit 2. The
// paired t-test's p-value is checked against the closed forms of Student's t for 1 and 2 degrees
// of freedom.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mean, paired, quantile, std, tTestP } from '../../cli/stats.js';

const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
const env = { ...process.env, PUGD_DATA: mkdtempSync(join(tmpdir(), 'pugd-nodata-')) };
const cwd = mkdtempSync(join(tmpdir(), 'pugd-compare-'));
const base = ['compare', '--dataset', 'mnist', '--width', '2', '--batch-size', '16', '--limit-train', '128', '--limit-test', '32', '--optimizers', 'sgd,pugd', '--seeds', '2', '--epochs', '3', '--backend', 'wasm', '--json'];
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd, env, timeout: 300_000 });
const jsonl = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const events = (stdout: string) => stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const RUNS = ['sgd-seed0', 'sgd-seed1', 'pugd-seed0', 'pugd-seed1'];

describe('paired statistics', () => {
  it('Student t p-values match the closed forms for 1 and 2 degrees of freedom', () => {
    for (const t of [0.1, 0.6, 1, 2.5, 10, -3]) {
      expect(Math.abs(tTestP(t, 1) - (1 - (2 / Math.PI) * Math.atan(Math.abs(t))))).toBeLessThan(1e-12);
      expect(Math.abs(tTestP(t, 2) - (1 - Math.abs(t) / Math.sqrt(2 + t * t)))).toBeLessThan(1e-12);
    }
    expect(tTestP(0, 5)).toBeCloseTo(1, 12);
    // t = 2.571 is the two-sided 5 % critical value at 5 degrees of freedom (tables).
    expect(tTestP(2.5706, 5)).toBeCloseTo(0.05, 4);
  });
  it('quantiles interpolate between order statistics', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([4, 1, 3, 2], 0.9)).toBeCloseTo(3.7, 14);
    expect(quantile([5], 0.99)).toBe(5);
    expect(quantile([1, 2, 3, 4, 5], 1)).toBe(5);
  });
  it('mean, sample std and the paired comparison', () => {
    expect(mean([1, 2, 3, 6])).toBe(3);
    expect(std([1, 2, 3, 6])).toBeCloseTo(Math.sqrt(14 / 3), 14);
    const p = paired([0.8, 0.7, 0.9], [0.75, 0.72, 0.8]);
    expect(p.diffs.map((d) => Number(d.toFixed(12)))).toEqual([0.05, -0.02, 0.1]);
    expect([p.wins, p.losses, p.ties]).toEqual([2, 1, 0]);
    expect(p.t!).toBeCloseTo(p.mean / (p.std / Math.sqrt(3)), 12);
    expect(p.p!).toBeCloseTo(tTestP(p.t!, 2), 14);
  });
});

describe('pugd compare on a tiny data set (wasm)', () => {
  const full = join(cwd, 'full');
  let fullEvents: Record<string, unknown>[] = [];
  beforeAll(() => {
    const r = run([...base, '--out', full]);
    expect(r.status, r.stderr).toBe(0);
    fullEvents = events(r.stdout);
  });

  it('runs every optimizer × seed as a normal run folder and tabulates them from their metrics', () => {
    expect(fullEvents.at(-1)!.event).toBe('done');
    const res = JSON.parse(readFileSync(join(full, 'results.json'), 'utf8'));
    for (const [k, o] of ['sgd', 'pugd'].entries()) {
      const hs = [0, 1].map((s) => jsonl(join(full, 'runs', `${o}-seed${s}`, 'metrics.jsonl')));
      for (const h of hs) expect(h.map((e) => e.epoch)).toEqual([1, 2, 3]);
      for (const s of [0, 1]) expect(existsSync(join(full, 'runs', `${o}-seed${s}`, 'model.safetensors'))).toBe(true);
      const final = hs.map((h) => h[2].test_acc);
      const best = hs.map((h) => Math.max(...h.map((e) => e.test_acc)));
      const sum = res.optimizers[k];
      expect(sum.optimizer).toBe(o);
      expect(sum.runs).toBe(2);
      expect(sum.final_test_acc.values).toEqual(final);
      expect(sum.final_test_acc.mean).toBeCloseTo((final[0] + final[1]) / 2, 14);
      expect(sum.final_test_acc.std).toBeCloseTo(Math.abs(final[0] - final[1]) / Math.SQRT2, 14);
      expect(sum.best_test_acc.mean).toBeCloseTo((best[0] + best[1]) / 2, 14);
      expect(sum.wall_time_s.mean).toBeCloseTo((hs[0][2].elapsed_s + hs[1][2].elapsed_s) / 2, 10);
      expect(sum.images_per_s.mean).toBeGreaterThan(0);
    }
    // Paired: pugd − sgd per seed.
    const p = res.paired[0];
    expect([p.a, p.b, p.seeds]).toEqual(['pugd', 'sgd', [0, 1]]);
    const acc = (o: string, s: number) => jsonl(join(full, 'runs', `${o}-seed${s}`, 'metrics.jsonl'))[2].test_acc;
    expect(p.final_test_acc.diffs).toEqual([acc('pugd', 0) - acc('sgd', 0), acc('pugd', 1) - acc('sgd', 1)]);
    const md = readFileSync(join(full, 'results.md'), 'utf8');
    expect(md).toContain('| optimizer | epochs | runs | final test acc | best test acc |');
    expect(md).toMatch(/\| sgd \| 3 \| 2\/2 \| \d+\.\d\d ± \d+\.\d\d % \|/);
    expect(md).toContain('| pugd vs sgd |');
    const svg = readFileSync(join(full, 'accuracy.svg'), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    // a min–max band and a mean line per optimizer, in each of the two panels
    expect(svg.match(/<polygon /g)!.length).toBe(4);
    expect(svg.match(/<path /g)!.length).toBe(4);
  });

  it('an interrupted compare resumes where it stopped and ends as the uninterrupted one', async () => {
    const out = join(cwd, 'interrupted');
    // Stop it (SIGINT, as Ctrl-C) once the third run has finished its first epoch.
    const first = await new Promise<{ code: number | null; lines: Record<string, unknown>[] }>((resolveRun, reject) => {
      const child = spawn(process.execPath, [cli, ...base, '--out', out], { cwd, env });
      const lines: Record<string, unknown>[] = [];
      let buf = '';
      let third = false;
      let sent = false;
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (!line.startsWith('{')) continue;
          const e = JSON.parse(line);
          lines.push(e);
          if (e.event === 'compare-run' && e.index === 3) third = true;
          if (third && e.event === 'epoch' && !sent) {
            sent = true;
            child.kill('SIGINT');
          }
        }
      });
      child.on('error', reject);
      child.on('exit', (code) => resolveRun({ code, lines }));
    });
    expect(first.code).toBe(130);
    expect(first.lines.at(-1)!.event).toBe('stopped');
    const started = first.lines.filter((e) => e.event === 'compare-run').map((e) => e.index);
    expect(started).toEqual([1, 2, 3]);
    // The interrupted run left a checkpoint and fewer than 3 epochs.
    expect(jsonl(join(out, 'runs', 'pugd-seed0', 'metrics.jsonl')).length).toBeLessThan(3);

    const again = run(['compare', '--resume', out, '--json']);
    expect(again.status, again.stderr).toBe(0);
    const runsAgain = events(again.stdout).filter((e) => e.event === 'compare-run');
    expect(runsAgain.map((e) => [e.index, e.status])).toEqual([[3, 'resume'], [4, 'fresh']]);
    // Same per-epoch figures as the uninterrupted compare, to the bit (WASM resumes exactly).
    for (const r of RUNS) {
      const a = jsonl(join(full, 'runs', r, 'metrics.jsonl')).map((e) => [e.epoch, e.step, e.train_loss, e.test_loss, e.test_acc]);
      const b = jsonl(join(out, 'runs', r, 'metrics.jsonl')).map((e) => [e.epoch, e.step, e.train_loss, e.test_loss, e.test_acc]);
      expect(b, r).toEqual(a);
    }
    const ra = JSON.parse(readFileSync(join(full, 'results.json'), 'utf8'));
    const rb = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(rb.optimizers.map((o: { final_test_acc: unknown }) => o.final_test_acc)).toEqual(ra.optimizers.map((o: { final_test_acc: unknown }) => o.final_test_acc));
    // Run once more: nothing left to do.
    const third = run([...base, '--out', out]);
    expect(third.status, third.stderr).toBe(0);
    expect(events(third.stdout).filter((e) => e.event === 'compare-run')).toEqual([]);
  });

  it('--equal time: epochs planned from timing runs, recorded in compare.json; --log-steps: ‖Δw‖ statistics', () => {
    const out = join(cwd, 'time');
    const r = run(['compare', '--dataset', 'mnist', '--width', '2', '--batch-size', '16', '--limit-train', '32', '--limit-test', '16', '--optimizers', 'sgd,pugd', '--seeds', '1', '--equal', 'time', '--budget-minutes', '0.02', '--timing-steps', '2', '--backend', 'wasm', '--log-steps', '--json', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const state = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    for (const o of ['sgd', 'pugd']) {
      const t = state.timing[o];
      const timing = jsonl(join(out, 'timing', o, 'metrics.jsonl'));
      expect(timing).toHaveLength(2);
      expect(t.trainImagesPerS).toBe(timing[1].images_per_s);
      expect(t.epochSeconds).toBeCloseTo(32 / t.trainImagesPerS + 16 / t.testImagesPerS, 10);
      expect(state.epochs[o]).toBe(Math.max(1, Math.floor(1.2 / t.epochSeconds)));
      expect(jsonl(join(out, 'runs', `${o}-seed0`, 'metrics.jsonl'))).toHaveLength(state.epochs[o]);
    }
    // The update-norm table: from every step's ‖Δw‖ in steps.jsonl.
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    for (const [k, o] of ['sgd', 'pugd'].entries()) {
      const steps = jsonl(join(out, 'runs', `${o}-seed0`, 'steps.jsonl'));
      const dw = steps.map((x) => x.update_norm as number);
      const u = res.optimizers[k].update_norm;
      expect(u.steps).toBe(steps.length);
      expect(u.max).toBe(Math.max(...dw));
      expect(u.p90).toBeCloseTo(quantile(dw, 0.9), 14);
      if (o === 'pugd') expect(Math.abs(u.eps_norm_mean - 1)).toBeLessThan(1e-3);
      else expect(u.eps_norm_mean).toBeNull();
    }
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain('| optimizer | steps | max | p50 | p90 | p99 | mean | mean ‖ε‖ | mean cos(g1, g2) |');
  });

  it('bad settings: one line naming the option, exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['compare', '--optimizers', 'sgd'], /needs --dataset/],
      [['compare', '--dataset', 'mnist', '--optimizers', 'sgd,nope'], /--optimizers: unknown optimizer 'nope'/],
      [['compare', '--dataset', 'mnist', '--optimizers', 'sgd,sgd'], /listed twice/],
      [['compare', '--dataset', 'mnist', '--equal', 'time'], /--equal time needs --budget-minutes/],
      [['compare', '--dataset', 'mnist', '--equal', 'time', '--budget-minutes', '1', '--epochs', '3'], /--epochs cannot be given with --equal time/],
      [[...base.map((x, i) => (base[i - 1] === '--epochs' ? '5' : x)), '--out', full], /holds a compare with other settings: the training flags '.*--epochs 5.*' \(the compare there has '.*--epochs 3/],
      [['compare', '--resume', join(cwd, 'nothing')], /no compare\.json/],
    ];
    for (const [args, re] of cases) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
  });
});
