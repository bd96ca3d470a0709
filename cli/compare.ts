// `pugd compare`: trains several optimizers over several seeds on the same data and schedule, each
// run a normal `pugd train` run folder (OUT/runs/<optimizer>-seed<k>/, resumable), and reports them
// together: results.md and results.json (final and best test accuracy as mean ± std over seeds, wall
// time, images/s, and a paired per-seed comparison of every two optimizers with a paired t-test) and
// accuracy.svg (test accuracy per epoch and against wall-clock time: mean line, min–max band).
//
// --equal epochs (default): every run trains --epochs. --equal time --budget-minutes T: every run gets
// the same wall-clock budget; a short timing run per optimizer (OUT/timing/<optimizer>/: 2 epochs of
// --timing-steps steps and a short test pass; the second, warm epoch is timed) measures its training
// and test speed, and its epochs are the
// most whose (per-epoch) cosine schedule ends inside T at that speed. The plan (epochs per optimizer,
// the timing figures) is saved in OUT/compare.json before the first run.
//
// Resuming: running the same command again with the same --out (or `pugd compare --resume OUT`)
// skips the finished runs, continues an interrupted one from its newest checkpoint and starts the rest;
// a run folder without a checkpoint is started afresh. Different settings for an existing OUT are
// refused with the setting named. Ctrl-C stops the run at hand with a checkpoint (exit 130).

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { InputError, UsageError, parseArgs, type Parsed } from './args.js';
import { FORWARDED, OPTIMIZERS, trainSpec, type DatasetName, type OptimizerName } from './commands.js';
import { runTrain, timestamp, type RunConfig } from './train.js';
import { listCheckpoints, writeFileAtomic } from './checkpoint.js';
import { locateDataset } from './data.js';
import { openData } from './components.js';
import type { EpochRecord } from './trainer.js';
import { mean, paired, quantile, std, type Paired } from './stats.js';
import { lineChartSvg, type LineSeries } from './chart.js';



interface Settings {
  optimizers: OptimizerName[];
  seeds: number[];
  equal: 'epochs' | 'time';
  budgetMinutes: number | null;
  timingSteps: number;
  /** The forwarded `pugd train` flags, as an argument list. */
  trainArgs: string[];
}

interface Timing {
  trainImagesPerS: number;
  testImagesPerS: number | null;
  trainImages: number;
  testImages: number;
  epochSeconds: number;
  epochs: number;
}

interface State {
  format: 'pugd-compare';
  version: 1;
  settings: Settings;
  epochs: Record<string, number>;
  timing: Record<string, Timing> | null;
  failed: Record<string, string>;
}

function settingsFromArgs(a: Parsed): Settings {
  const v = a.values;
  if (!a.given.has('dataset')) throw new UsageError('pugd compare needs --dataset (the data set every run trains on)');
  const optimizers = String(v.optimizers).split(',').map((s) => s.trim()).filter(Boolean);
  if (optimizers.length === 0) throw new UsageError('--optimizers: give at least one optimizer');
  for (const o of optimizers) if (!(OPTIMIZERS as readonly string[]).includes(o)) throw new UsageError(`--optimizers: unknown optimizer '${o}' (expected some of: ${OPTIMIZERS.join(', ')})`);
  if (new Set(optimizers).size !== optimizers.length) throw new UsageError(`--optimizers: '${optimizers.find((o, i) => optimizers.indexOf(o) !== i)}' is listed twice`);
  const equal = v.equal as 'epochs' | 'time';
  if (equal === 'time') {
    if (!a.given.has('budget-minutes')) throw new UsageError('--equal time needs --budget-minutes T (the wall-clock budget of each run)');
    if (a.given.has('epochs')) throw new UsageError('--epochs cannot be given with --equal time (the epochs are chosen to fit --budget-minutes)');
  } else if (a.given.has('budget-minutes')) {
    throw new UsageError('--budget-minutes needs --equal time');
  }
  const trainArgs: string[] = [];
  for (const name of FORWARDED) {
    if (!a.given.has(name) || (name === 'epochs' && equal === 'time')) continue;
    const val = v[name];
    trainArgs.push(`--${name}`);
    if (typeof val !== 'boolean') trainArgs.push(String(val));
  }
  if (equal === 'epochs' && !a.given.has('epochs')) trainArgs.push('--epochs', String(v.epochs));
  const first = Number(v.seed);
  return {
    optimizers: optimizers as OptimizerName[],
    seeds: Array.from({ length: Number(v.seeds) }, (_, i) => first + i),
    equal, budgetMinutes: equal === 'time' ? Number(v['budget-minutes']) : null, timingSteps: Number(v['timing-steps']), trainArgs,
  };
}

/** The first setting in which `a` and `b` differ, for the message; null when equal. */
function differs(a: Settings, b: Settings): string | null {
  const names: Record<keyof Settings, string> = { optimizers: '--optimizers', seeds: 'seeds (--seed, --seeds)', equal: '--equal', budgetMinutes: '--budget-minutes', timingSteps: '--timing-steps', trainArgs: 'the training flags' };
  const show = (v: unknown) => (Array.isArray(v) ? v.join(v.some((x) => typeof x === 'string' && x.startsWith('--')) ? ' ' : ',') : String(v));
  for (const k of Object.keys(names) as (keyof Settings)[]) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return `${names[k]} '${show(b[k])}' (the compare there has '${show(a[k])}')`;
  }
  return null;
}

const jsonl = (path: string): EpochRecord[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => {
        try {
          return [JSON.parse(l) as EpochRecord];
        } catch {
          return [];
        }
      })
    : [];

/** Whether a run folder is finished (all its epochs in metrics.jsonl), resumable, or to start afresh. */
function runStatus(dir: string, epochs: number): 'done' | 'resume' | 'fresh' {
  if (jsonl(join(dir, 'metrics.jsonl')).filter((r) => r.epoch <= epochs).length >= epochs) return 'done';
  return listCheckpoints(join(dir, 'checkpoints')).length > 0 ? 'resume' : 'fresh';
}

/** `args` without the options `names` (and their values). */
function without(args: readonly string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].slice(2);
    const takesValue = trainSpec.options.find((o) => o.name === name)?.type !== 'flag';
    if (names.includes(name)) {
      if (takesValue) i++;
      continue;
    }
    out.push(args[i]);
  }
  return out;
}

/** Runs `pugd train` in this process with `argv`; its exit code. */
async function train(argv: string[]): Promise<number> {
  return runTrain(parseArgs(trainSpec, argv));
}

/** Train and test images of the data set as the runs see it (after --limit-*). */
async function countImages(s: Settings): Promise<{ train: number; test: number }> {
  const p = parseArgs(trainSpec, s.trainArgs);
  const dataset = p.values.dataset as DatasetName;
  const config = {
    dataset, data: locateDataset(dataset, p.values.data as string | undefined).path, limitTrain: p.values['limit-train'], limitTest: p.values['limit-test'],
    batchSize: Number(p.values['batch-size']), seed: 0, epochs: 1, augment: false,
  } as unknown as RunConfig;
  const d = await openData(config, null as never);
  const r = { train: d.train.numExamples, test: d.test?.numExamples ?? 0 };
  await d.close();
  return r;
}

export async function runCompare(a: Parsed): Promise<number> {
  const json = Boolean(a.values.json);
  const say = (line: string) => (json ? undefined : process.stdout.write(`${line}\n`));
  const emit = (o: Record<string, unknown>) => (json ? process.stdout.write(`${JSON.stringify(o)}\n`) : undefined);

  let outDir: string;
  let settings: Settings;
  let state: State | null = null;
  if (a.values.resume !== undefined) {
    const extra = [...a.given].filter((f) => f !== 'resume' && f !== 'json');
    if (extra.length) throw new UsageError(`--${extra[0]} cannot be given with --resume (the compare's settings come from its compare.json)`);
    outDir = resolve(String(a.values.resume));
    state = readState(outDir);
    if (!state) throw new InputError(`--resume ${a.values.resume}: no compare.json there (not a compare folder)`);
    settings = state.settings;
  } else {
    settings = settingsFromArgs(a);
    const p = parseArgs(trainSpec, settings.trainArgs);
    outDir = resolve(String(a.values.out ?? `runs/compare-${p.values.model}-${p.values.dataset}-${timestamp()}`));
    state = readState(outDir);
    if (state) {
      const d = differs(state.settings, settings);
      if (d) throw new InputError(`--out ${relative(process.cwd(), outDir) || outDir} holds a compare with other settings: ${d}; give the same settings to resume it, or another --out`);
    }
  }
  mkdirSync(outDir, { recursive: true });
  const statePath = join(outDir, 'compare.json');
  const save = () => writeFileAtomic(statePath, `${JSON.stringify(state, null, 2)}\n`);
  const passJson = json ? ['--json'] : [];

  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (!state) {
      state = { format: 'pugd-compare', version: 1, settings, epochs: {}, timing: null, failed: {} };
      if (settings.equal === 'epochs') {
        const e = Number(parseArgs(trainSpec, settings.trainArgs).values.epochs);
        for (const o of settings.optimizers) state.epochs[o] = e;
      }
      save();
    }
    // Equal time: one timing run per optimizer, then the epochs that fit the budget.
    if (settings.equal === 'time' && Object.keys(state.epochs).length < settings.optimizers.length) {
      const sizes = await countImages(settings);
      const batch = Number(parseArgs(trainSpec, settings.trainArgs).values['batch-size']);
      state.timing ??= {};
      for (const o of settings.optimizers) {
        if (state.epochs[o] !== undefined) continue;
        if (stop) return stopped(outDir, say, emit);
        const dir = join(outDir, 'timing', o);
        rmSync(dir, { recursive: true, force: true });
        const trainN = Math.min(sizes.train, batch * settings.timingSteps);
        const testN = Math.min(sizes.test, 2 * Math.max(batch, 100));
        say(`compare: timing ${o} on ${trainN} training images (${Math.ceil(trainN / batch)} steps)${testN ? ` and ${testN} test images` : ''}`);
        const args = without(settings.trainArgs, ['limit-train', 'limit-test', 'checkpoint-every']);
        const rc = await train([...args, '--optimizer', o, '--seed', String(settings.seeds[0]), '--epochs', '2', '--limit-train', String(trainN), ...(testN ? ['--limit-test', String(testN)] : []), '--out', dir, ...passJson]);
        if (rc === 130) return stopped(outDir, say, emit);
        const rec = jsonl(join(dir, 'metrics.jsonl'))[1];
        if (rc !== 0 || !rec) throw new Error(`the timing run of ${o} failed (exit ${rc}); see ${dir}`);
        const testRate = rec.test_time_s && testN ? testN / rec.test_time_s : null;
        const epochSeconds = sizes.train / rec.images_per_s + (testRate ? sizes.test / testRate : 0);
        const epochs = Math.max(1, Math.floor((settings.budgetMinutes! * 60) / epochSeconds));
        state.timing[o] = { trainImagesPerS: rec.images_per_s, testImagesPerS: testRate, trainImages: sizes.train, testImages: sizes.test, epochSeconds, epochs };
        state.epochs[o] = epochs;
        save();
        say(`compare: ${o}: ${rec.images_per_s.toFixed(1)} img/s training${testRate ? `, ${testRate.toFixed(1)} img/s test` : ''} → ${epochSeconds.toFixed(1)} s per epoch → ${epochs} epochs in ${settings.budgetMinutes} min`);
        emit({ event: 'timing', optimizer: o, ...state.timing[o] });
      }
    }

    const runs = settings.optimizers.flatMap((o) => settings.seeds.map((s) => ({ optimizer: o, seed: s, dir: join(outDir, 'runs', `${o}-seed${s}`) })));
    say(`compare: ${settings.optimizers.join(', ')} × seeds ${settings.seeds.join(', ')} (${settings.equal === 'time' ? `${settings.budgetMinutes} min each: ${settings.optimizers.map((o) => `${o} ${state!.epochs[o]} epochs`).join(', ')}` : `${state.epochs[settings.optimizers[0]]} epochs each`}); outputs in ${relative(process.cwd(), outDir) || '.'}/`);
    for (const [i, r] of runs.entries()) {
      const epochs = state.epochs[r.optimizer];
      const key = `${r.optimizer}-seed${r.seed}`;
      const status = state.failed[key] ? 'failed' : runStatus(r.dir, epochs);
      if (status === 'done' || status === 'failed') continue;
      if (stop) return stopped(outDir, say, emit);
      say(`compare: run ${i + 1}/${runs.length}: ${r.optimizer}, seed ${r.seed}${status === 'resume' ? ' (resuming)' : ''}`);
      emit({ event: 'compare-run', index: i + 1, of: runs.length, optimizer: r.optimizer, seed: r.seed, status, dir: r.dir });
      let argv: string[];
      if (status === 'resume') {
        argv = ['--resume', r.dir, '--epochs', String(epochs), ...passJson];
      } else {
        rmSync(r.dir, { recursive: true, force: true });
        argv = [...without(settings.trainArgs, ['epochs']), '--optimizer', r.optimizer, '--seed', String(r.seed), '--epochs', String(epochs), '--out', r.dir, ...passJson];
      }
      let rc: number;
      try {
        rc = await train(argv);
      } catch (e) {
        if (e instanceof UsageError || e instanceof InputError) throw e;
        rc = 1;
        state.failed[key] = (e as Error).message.split('\n')[0];
      }
      if (rc === 130) return stopped(outDir, say, emit);
      if (rc !== 0) {
        state.failed[key] ??= `pugd train exited ${rc}`;
        save();
        say(`compare: ${key} failed: ${state.failed[key]}`);
      }
      writeResults(outDir, state, runs);
    }
    const res = writeResults(outDir, state, runs);
    if (json) emit({ event: 'done', out: outDir, ...res });
    else {
      say('');
      say(readFileSync(join(outDir, 'results.md'), 'utf8').trimEnd());
      say('');
      say(`outputs in ${relative(process.cwd(), outDir) || '.'}/: results.md, results.json, accuracy.svg, compare.json, runs/`);
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function readState(dir: string): State | null {
  const p = join(dir, 'compare.json');
  if (!existsSync(p)) return null;
  let s: State;
  try {
    s = JSON.parse(readFileSync(p, 'utf8')) as State;
  } catch (e) {
    throw new InputError(`${p}: not readable as JSON (${(e as Error).message})`);
  }
  if (s.format !== 'pugd-compare' || s.version !== 1) throw new InputError(`${p}: not a pugd compare file (format ${JSON.stringify(s.format)}, version ${JSON.stringify(s.version)})`);
  return s;
}

function stopped(outDir: string, say: (l: string) => void, emit: (o: Record<string, unknown>) => void): number {
  const rel = relative(process.cwd(), outDir) || outDir;
  say(`compare: stopped; continue with: pugd compare --resume ${rel}`);
  emit({ event: 'stopped', out: outDir });
  return 130;
}

interface OptimizerSummary {
  optimizer: string;
  epochs: number;
  runs: number;
  seeds: number[];
  failed: string[];
  final_test_acc: { mean: number; std: number; values: number[] } | null;
  best_test_acc: { mean: number; std: number; values: number[] } | null;
  final_train_loss: { mean: number; std: number } | null;
  wall_time_s: { mean: number; std: number } | null;
  images_per_s: { mean: number; std: number } | null;
  /** With --log-steps: ‖Δw‖ per step over every step of every seed (the paper's "locally bounded" update). */
  update_norm: StepNormStats | null;
}

interface StepNormStats {
  steps: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  /** Mean ‖ε‖ and cos(g1, g2) of the two-pass optimizers (null for one-pass ones). */
  eps_norm_mean: number | null;
  grad_cos_mean: number | null;
}

/** ‖Δw‖ statistics from the runs' steps.jsonl (null when they have no diagnostics). */
function stepNorms(dirs: string[]): StepNormStats | null {
  const dw: number[] = [];
  const eps: number[] = [];
  const cos: number[] = [];
  for (const d of dirs) {
    for (const r of jsonl(join(d, 'steps.jsonl')) as unknown as { update_norm?: number; eps_norm?: number | null; grad_cos?: number | null }[]) {
      if (typeof r.update_norm !== 'number') continue;
      dw.push(r.update_norm);
      if (typeof r.eps_norm === 'number') eps.push(r.eps_norm);
      if (typeof r.grad_cos === 'number') cos.push(r.grad_cos);
    }
  }
  if (!dw.length) return null;
  return {
    steps: dw.length, max: Math.max(...dw), p50: quantile(dw, 0.5), p90: quantile(dw, 0.9), p99: quantile(dw, 0.99), mean: mean(dw),
    eps_norm_mean: eps.length ? mean(eps) : null, grad_cos_mean: cos.length ? mean(cos) : null,
  };
}

const ms = (xs: number[]) => ({ mean: mean(xs), std: std(xs) });

/** Summarises the finished runs into results.json, results.md and accuracy.svg; returns the summary. */
function writeResults(outDir: string, state: State, runs: { optimizer: string; seed: number; dir: string }[]): Record<string, unknown> {
  const s = state.settings;
  const histories = new Map<string, EpochRecord[]>();
  for (const r of runs) {
    const h = jsonl(join(r.dir, 'metrics.jsonl')).filter((e) => e.epoch <= state.epochs[r.optimizer]);
    if (h.length >= state.epochs[r.optimizer] && !state.failed[`${r.optimizer}-seed${r.seed}`]) histories.set(`${r.optimizer}-seed${r.seed}`, h);
  }
  const summaries: OptimizerSummary[] = s.optimizers.map((o) => {
    const done = s.seeds.filter((seed) => histories.has(`${o}-seed${seed}`));
    const hs = done.map((seed) => histories.get(`${o}-seed${seed}`)!);
    const final = hs.map((h) => h[h.length - 1].test_acc).filter((x): x is number => x !== undefined);
    const best = hs.map((h) => Math.max(...h.map((e) => e.test_acc ?? -Infinity))).filter(Number.isFinite);
    return {
      optimizer: o, epochs: state.epochs[o], runs: hs.length, seeds: done,
      failed: s.seeds.filter((seed) => state.failed[`${o}-seed${seed}`]).map((seed) => `seed ${seed}: ${state.failed[`${o}-seed${seed}`]}`),
      final_test_acc: final.length ? { ...ms(final), values: final } : null,
      best_test_acc: best.length ? { ...ms(best), values: best } : null,
      final_train_loss: hs.length ? ms(hs.map((h) => h[h.length - 1].train_loss)) : null,
      wall_time_s: hs.length ? ms(hs.map((h) => h[h.length - 1].elapsed_s)) : null,
      images_per_s: hs.length ? ms(hs.map((h) => mean(h.map((e) => e.images_per_s)))) : null,
      update_norm: stepNorms(done.map((seed) => runs.find((r) => r.optimizer === o && r.seed === seed)!.dir)),
    };
  });
  // Paired per seed: every two optimizers, on the seeds both finished.
  const pairs: { a: string; b: string; seeds: number[]; final_test_acc: Paired; best_test_acc: Paired }[] = [];
  for (let i = 0; i < s.optimizers.length; i++) {
    for (let j = i + 1; j < s.optimizers.length; j++) {
      const [a, b] = [s.optimizers[j], s.optimizers[i]];
      const seeds = s.seeds.filter((seed) => histories.has(`${a}-seed${seed}`) && histories.has(`${b}-seed${seed}`));
      if (!seeds.length) continue;
      const get = (o: string, f: (h: EpochRecord[]) => number) => seeds.map((seed) => f(histories.get(`${o}-seed${seed}`)!));
      const fin = (h: EpochRecord[]) => h[h.length - 1].test_acc ?? NaN;
      const bst = (h: EpochRecord[]) => Math.max(...h.map((e) => e.test_acc ?? -Infinity));
      pairs.push({ a, b, seeds, final_test_acc: paired(get(a, fin), get(b, fin)), best_test_acc: paired(get(a, bst), get(b, bst)) });
    }
  }
  const trainFlags = s.trainArgs.join(' ');
  const result = { settings: s, train_flags: trainFlags, epochs: state.epochs, timing: state.timing, optimizers: summaries, paired: pairs };
  writeFileAtomic(join(outDir, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);

  const pct = (x: { mean: number; std: number } | null) => (x ? `${(100 * x.mean).toFixed(2)} ± ${(100 * x.std).toFixed(2)} %` : '—');
  const num = (x: { mean: number; std: number } | null, d = 1) => (x ? `${x.mean.toFixed(d)} ± ${x.std.toFixed(d)}` : '—');
  const pp = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(2)}`;
  const md: string[] = [
    `# pugd compare: ${s.optimizers.join(' vs ')}`,
    '',
    `\`pugd train ${trainFlags}\`, seeds ${s.seeds.join(', ')}; ${s.equal === 'time' ? `equal time: ${s.budgetMinutes} min per run (epochs from timing runs of 2 × ${s.timingSteps} steps)` : 'equal epochs'}.`,
    'Accuracy: mean ± sample std over the seeds that finished; wall time: training and test passes of a run; img/s: training images per second, mean over epochs.',
    '',
    '| optimizer | epochs | runs | final test acc | best test acc | final train loss | wall time (s) | img/s |',
    '|---|---|---|---|---|---|---|---|',
    ...summaries.map((o) => `| ${o.optimizer} | ${o.epochs} | ${o.runs}/${s.seeds.length}${o.failed.length ? ` (${o.failed.length} failed)` : ''} | ${pct(o.final_test_acc)} | ${pct(o.best_test_acc)} | ${num(o.final_train_loss, 4)} | ${num(o.wall_time_s)} | ${num(o.images_per_s)} |`),
  ];
  if (pairs.length) {
    md.push('', 'Paired per seed (final test accuracy, percentage points, A − B; t: paired t-test, p two-sided):', '', '| A vs B | per seed | mean ± std | A better | t | p |', '|---|---|---|---|---|---|');
    for (const p of pairs) {
      const f = p.final_test_acc;
      md.push(`| ${p.a} vs ${p.b} | ${f.diffs.map((d, k) => `s${p.seeds[k]}: ${pp(d)}`).join(', ')} | ${pp(f.mean)} ± ${(100 * f.std).toFixed(2)} | ${f.wins}/${f.diffs.length} | ${f.t === null ? '—' : f.t.toFixed(2)} | ${f.p === null ? '—' : f.p.toPrecision(2)} |`);
    }
  }
  const withSteps = summaries.filter((o) => o.update_norm);
  if (withSteps.length) {
    const g = (v: number | null) => (v === null ? '—' : v.toPrecision(4));
    md.push('', 'Update norm ‖Δw‖ per step (--log-steps; over every step of every seed; percentiles interpolated):', '', '| optimizer | steps | max | p50 | p90 | p99 | mean | mean ‖ε‖ | mean cos(g1, g2) |', '|---|---|---|---|---|---|---|---|---|');
    for (const o of withSteps) {
      const u = o.update_norm!;
      md.push(`| ${o.optimizer} | ${u.steps} | ${g(u.max)} | ${g(u.p50)} | ${g(u.p90)} | ${g(u.p99)} | ${g(u.mean)} | ${g(u.eps_norm_mean)} | ${g(u.grad_cos_mean)} |`);
    }
  }
  for (const o of summaries) for (const f of o.failed) md.push('', `${o.optimizer} ${f}`);
  writeFileAtomic(join(outDir, 'results.md'), `${md.join('\n')}\n`);

  // accuracy.svg: per optimizer, mean test accuracy per epoch (and against mean elapsed time) with the min–max band.
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2'];
  const byEpoch: LineSeries[] = [];
  const byTime: LineSeries[] = [];
  s.optimizers.forEach((o, k) => {
    const hs = s.seeds.map((seed) => histories.get(`${o}-seed${seed}`)).filter((h): h is EpochRecord[] => !!h);
    if (!hs.length) return;
    const E = Math.min(...hs.map((h) => h.length));
    const at = (e: number) => hs.map((h) => 100 * (h[e].test_acc ?? NaN));
    const pts: [number, number][] = [];
    const band: [number, number, number][] = [];
    const tpts: [number, number][] = [];
    const tband: [number, number, number][] = [];
    for (let e = 0; e < E; e++) {
      const v = at(e);
      const t = mean(hs.map((h) => h[e].elapsed_s)) / 60;
      pts.push([e + 1, mean(v)]);
      band.push([e + 1, Math.min(...v), Math.max(...v)]);
      tpts.push([t, mean(v)]);
      tband.push([t, Math.min(...v), Math.max(...v)]);
    }
    byEpoch.push({ label: `${o} (${hs.length})`, color: colors[k % colors.length], pts, band });
    byTime.push({ label: o, color: colors[k % colors.length], pts: tpts, band: tband });
  });
  if (byEpoch.length) {
    writeFileAtomic(join(outDir, 'accuracy.svg'), lineChartSvg(`Test accuracy · ${s.optimizers.join(' vs ')}`, `${trainFlags} · seeds ${s.seeds.join(', ')} · mean line, min–max band`, [
      { title: 'Test accuracy per epoch', xLabel: 'epoch', integerX: true, yLabel: 'test accuracy (%)', series: byEpoch },
      { title: 'Test accuracy against time', xLabel: 'minutes (mean over seeds)', yLabel: 'test accuracy (%)', series: byTime },
    ]));
  }
  return result;
}
