// `pugd train`: turns the parsed flags (or a checkpoint's settings on --resume) into a run config,
// finds the data, builds the model, optimizer, schedule and loaders, runs the loop with progress,
// and leaves metrics, plot, checkpoints and the final weights in --out. With no --dataset it runs
// the demo (see DEMO below). Usage mistakes are UsageError/InputError (exit 2); divergence exits 1
// naming the last sane checkpoint and a command that continues from it; Ctrl-C checkpoints and exits 130.

import { resolve, relative, join } from 'node:path';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { InputError, UsageError, type Parsed } from './args.js';
import type { DatasetName, OptimizerName } from './commands.js';
import type { RunConfig } from './config.js';
import { locateDataset, findDataset } from './data.js';
import { createModel, checkModelName } from '../models/registry.js';
import { Generator, globalGenerator } from '../engine/random.js';
import { profileReport } from '../engine/backend.js';
import { formatProfile } from '../engine/profiler.js';
import { loadSafetensors } from '../engine/io/state.js';
import { Progress, formatDuration } from './progress.js';
import { FileOutput } from './outputs.js';
import { loadCheckpoint, readManifest, listCheckpoints, WriteError } from './checkpoint.js';
import { train, NanLossError, DEFAULT_GUARD, type EpochRecord, type ResumePoint } from './trainer.js';
import { lockRunFolder } from './runlock.js';
import { RESUME_CHANGES, applyResumeChanges, divergenceAdvice, restartOf, shownPath, type RunChange } from './recovery.js';
import { selectBackend, type SelectedBackend } from './backend.js';
import { createOptimizer, createSchedule, openData, defaultHyper, describeSkipped } from './components.js';
import { StopOnSignal } from './stop.js';
import { StepProbe } from './step_probe.js';

/** Everything that defines a run; saved in config.json and in every checkpoint. */
export type { RunConfig };

/**
 * The demo that `pugd train` / `npm run train` runs with no arguments: sized so the whole run
 * (training and test passes) ends well within 10 minutes on 2 CPU cores with the WASM backend
 * (about 380 CPU-seconds for CIFAR-10 and 330 for MNIST, measured; a quiet 2-core machine runs
 * them in 3–4 minutes, a machine shared with other work in under 10). Several epochs, so the
 * per-epoch cosine schedule actually anneals; the MNIST demo reaches ≥ 98 % test accuracy.
 */
interface Preset { model: string; width?: number; epochs: number; limitTrain: number; limitTest: number; batchSize: number; lr: number }

export const DEMO: Record<'cifar10' | 'mnist', Preset> = {
  cifar10: { model: 'resnet20', epochs: 4, limitTrain: 6000, limitTest: 1000, batchSize: 100, lr: 0.1 },
  mnist: { model: 'resnet20', width: 8, epochs: 3, limitTrain: 25000, limitTest: 10000, batchSize: 64, lr: 0.1 },
};

// Settings a resumed run takes from its checkpoint; only these may be given beside --resume.
const RESUME_OVERRIDABLE = new Set(['resume', 'out', 'backend', 'json', 'profile', 'data', 'epochs', 'log-steps', 'checkpoint-every', ...Object.keys(RESUME_CHANGES)]);

function configFromFlags(a: Parsed): RunConfig {
  const v = a.values;
  const given = a.given;
  let dataset = v.dataset as DatasetName | undefined;
  const demo = dataset === undefined;
  let preset: Partial<Preset> = {};
  if (demo) {
    if (given.has('data')) throw new UsageError('--data needs --dataset (which format to read it as)');
    dataset = findDataset('cifar10') ? 'cifar10' : 'mnist';
    preset = DEMO[dataset as 'cifar10' | 'mnist'];
  }
  const model = given.has('model') ? String(v.model) : (preset.model ?? String(v.model));
  const bad = checkModelName(model);
  if (bad) throw new UsageError(`--model: ${bad}`);
  const optimizer = v.optimizer as OptimizerName;
  const hyper = defaultHyper(optimizer);
  const epochs = given.has('epochs') ? Number(v.epochs) : (preset.epochs ?? Number(v.epochs));
  const warmup = Number(v.warmup);
  if (warmup >= epochs) throw new UsageError(`--warmup ${warmup} must be shorter than --epochs ${epochs}`);
  const found = locateDataset(dataset!, v.data as string | undefined);
  return {
    model,
    width: (v.width as number | undefined) ?? (given.has('model') ? undefined : preset.width),
    dataset: dataset!,
    data: found.path,
    optimizer,
    lr: (v.lr as number | undefined) ?? preset.lr ?? hyper.lr,
    momentum: Number(v.momentum),
    weightDecay: (v['weight-decay'] as number | undefined) ?? hyper.weightDecay,
    labelSmoothing: Number(v['label-smoothing']),
    epochs,
    batchSize: given.has('batch-size') ? Number(v['batch-size']) : (preset.batchSize ?? Number(v['batch-size'])),
    schedule: v.schedule as RunConfig['schedule'],
    warmup,
    seed: Number(v.seed),
    augment: !v['no-augment'],
    limitTrain: (v['limit-train'] as number | undefined) ?? preset.limitTrain,
    limitTest: (v['limit-test'] as number | undefined) ?? preset.limitTest,
    demo,
    ...(v['skip-bad-images'] ? { skipBadImages: true } : {}),
    logSteps: Boolean(v['log-steps']),
    checkpointEvery: Number(v['checkpoint-every'] ?? 0),
    maxLossRatio: Number(v['max-loss-ratio'] ?? DEFAULT_GUARD.maxLossRatio),
    maxWeightNorm: Number(v['max-weight-norm'] ?? DEFAULT_GUARD.maxWeightNorm),
  };
}

/** The newest checkpoint of a run folder, if any. */
function lastCheckpointOf(dir: string): string | null {
  return listCheckpoints(join(dir, 'checkpoints'))[0] ?? null;
}

/** Local time as YYYYMMDD-HHMMSS, for default folder names. */
export function timestamp(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** When profiling (--profile, PUGD_PROFILE=1): the table on stderr and profile.json in the run folder. */
async function writeProfile(outDir: string): Promise<void> {
  const report = await profileReport();
  if (!report) return;
  process.stderr.write(`${formatProfile(report)}\n`);
  const file = join(outDir, 'profile.json');
  try {
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write(`pugd: profile written to ${shownPath(file)}\n`);
  } catch (e) {
    process.stderr.write(`pugd: warning: could not write ${shownPath(file)}: ${(e as Error).message}\n`);
  }
}

export async function runTrain(a: Parsed): Promise<number> {
  const json = Boolean(a.values.json);
  const out = json ? () => {} : (line: string) => process.stdout.write(`${line}\n`);
  const emit = json ? (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`) : undefined;

  // 0. Ctrl-C / SIGTERM, from the start (before any --json line): see StopOnSignal.
  const stop = new StopOnSignal(emit);
  try {
    return await trainWithStop(a, json, out, emit, stop);
  } finally {
    stop.uninstall();
  }
}

async function trainWithStop(a: Parsed, json: boolean, out: (line: string) => void, emit: ((o: Record<string, unknown>) => void) | undefined, stop: StopOnSignal): Promise<number> {
  // 1. The run's settings: from the flags, or from the checkpoint being resumed.
  let config: RunConfig;
  let resumed: ReturnType<typeof loadCheckpoint> | null = null;
  let change: RunChange | null = null;
  let backend: SelectedBackend;
  const pickBackend = (which: 'auto' | 'wasm' | 'webgpu') => selectBackend(which, json ? null : (l) => process.stderr.write(`${l}\n`), a.values.profile ? true : undefined);
  const extra = [...a.given].filter((f) => !RESUME_OVERRIDABLE.has(f));
  if (a.values.resume !== undefined && extra.length) throw new UsageError(`--${extra[0]} cannot be changed when resuming (a resumed run keeps its checkpoint's settings; allowed beside --resume: ${[...RESUME_OVERRIDABLE].filter((f) => f !== 'resume').map((f) => `--${f}`).join(', ')})`);
  // A folder killed before its first checkpoint: --resume starts its run afresh from config.json.
  const restart = a.values.resume !== undefined ? restartOf(String(a.values.resume)) : null;
  if (restart) {
    config = restart.config as unknown as RunConfig;
    if (a.given.has('epochs')) config.epochs = Number(a.values.epochs);
    if (a.given.has('log-steps')) config.logSteps = true;
    if (a.given.has('checkpoint-every')) config.checkpointEvery = Number(a.values['checkpoint-every']);
    if (a.given.has('data')) config.data = locateDataset(config.dataset, String(a.values.data)).path;
    applyResumeChanges(config as unknown as Record<string, unknown>, a, { step: 0, epoch: 0, checkpoint: '' });
    delete config.changes; // nothing was trained: the settings are simply the new run's
    process.stderr.write(`pugd: note: ${shownPath(restart.dir)} holds no checkpoint (the run stopped before its first one); starting its run afresh from ${shownPath(join(restart.dir, 'config.json'))}\n`);
    backend = await pickBackend(a.given.has('backend') ? (a.values.backend as 'auto') : (config.backend ?? 'auto'));
    a.values.out ??= restart.dir;
  } else if (a.values.resume !== undefined) {
    // The checkpoint's optimizer tensors are created on the backend, so it is chosen first: the
    // run's own backend unless --backend says otherwise (exact continuation needs the same one).
    try {
      const { manifest } = readManifest(String(a.values.resume));
      const own = (manifest.config as { backend?: 'wasm' | 'webgpu' }).backend;
      backend = await pickBackend(a.given.has('backend') ? (a.values.backend as 'auto') : (own ?? 'auto'));
      resumed = loadCheckpoint(String(a.values.resume));
    } catch (e) {
      if ((e as Error).message.startsWith('--backend')) throw e;
      throw new InputError(`--resume: ${(e as Error).message}`);
    }
    config = { ...(resumed.manifest.config as unknown as RunConfig) };
    if (a.given.has('epochs')) config.epochs = Number(a.values.epochs);
    if (a.given.has('log-steps')) config.logSteps = true;
    if (a.given.has('checkpoint-every')) config.checkpointEvery = Number(a.values['checkpoint-every']);
    config.logSteps ??= false;
    config.checkpointEvery ??= 0;
    if (a.given.has('data')) config.data = locateDataset(config.dataset, String(a.values.data)).path;
    else if (!existsSync(config.data)) config.data = locateDataset(config.dataset, undefined).path;
    if (resumed.manifest.epoch >= config.epochs) {
      throw new UsageError(`the checkpoint has already trained ${resumed.manifest.epoch} of ${config.epochs} epochs; give a larger --epochs to train further`);
    }
    change = applyResumeChanges(config as unknown as Record<string, unknown>, a, { step: resumed.manifest.step, epoch: resumed.manifest.epoch, checkpoint: resumed.manifestPath });
  } else {
    config = configFromFlags(a);
    backend = await pickBackend(a.values.backend as 'auto');
  }

  // 3. Data, model, optimizer, schedule.
  config.backend = backend.name;
  const data = await openData(config, backend, { resumed: resumed !== null });
  for (const line of describeSkipped(data.skipped)) process.stderr.write(`${line}\n`);
  const outDir = resolve(String(a.values.out ?? (resumed && !a.given.has('out') ? resolve(resumed.manifestPath, '../..') : `runs/${config.model}-${config.dataset}-${config.optimizer}-${timestamp()}`)));
  // One writer per run folder, before anything is written there (released at exit, whatever happens).
  const lock = lockRunFolder(outDir, (l) => process.stderr.write(`${l}\n`));
  if (!resumed && !restart && existsSync(outDir) && readdirSync(outDir).some((f) => f === 'metrics.jsonl' || f === 'checkpoints')) {
    const shown = relative(process.cwd(), outDir) || outDir;
    if (listCheckpoints(join(outDir, 'checkpoints')).length) throw new InputError(`--out ${shown} already holds a run; choose another folder, or continue it with --resume ${shown}`);
    // A run that stopped before its first (sane) checkpoint left nothing to continue: start afresh.
    process.stderr.write(`pugd: note: --out ${shown} holds a run that stopped before writing a checkpoint; starting it afresh there (its logs are replaced)\n`);
  }
  globalGenerator.seed(config.seed);
  const model = createModel(config.model, { numClasses: data.numClasses, inChannels: data.imageShape[0], imageSize: data.imageShape[1], width: config.width, generator: new Generator(config.seed) });
  const optimizer = createOptimizer(config, model);
  const schedule = createSchedule(config);
  let resumePoint: ResumePoint | undefined;
  if (resumed) {
    loadSafetensors(model, resumed.modelBytes, { source: `checkpoint ${resumed.manifestPath}` });
    const m = resumed.manifest;
    const rng = m.rng as { global?: number[] } | null;
    if (rng?.global) globalGenerator.setState(rng.global);
    resumePoint = {
      epoch: m.epoch, step: m.step, batchInEpoch: m.batchInEpoch, optimizer: resumed.optimizer, loader: m.loader,
      history: (m.extra.history as EpochRecord[]) ?? [], partial: m.extra.partial as ResumePoint['partial'], lossLevel: m.extra.lossLevel as number | null | undefined, where: resumed.manifestPath,
    };
  }

  if (stop.requested) return stop.beforeTraining(data, model);
  const output = new FileOutput({
    dir: outDir,
    model,
    title: `${config.model} · ${config.dataset} · ${config.optimizer} (lr ${config.lr}, batch ${config.batchSize}) · ${backend.description}`,
    config: {
      ...config, numClasses: data.numClasses, imageShape: data.imageShape, trainImages: data.train.numExamples, testImages: data.test?.numExamples ?? 0,
      ...(data.skipped.length ? { skippedImages: data.skipped.map(({ name, split, reason }) => ({ name, split, reason })) } : {}),
    } as unknown as Record<string, unknown>,
    log: out,
    json: emit,
    logSteps: config.logSteps,
    scheduler: () => schedule.describe(),
    resumedAt: resumePoint ? { step: resumePoint.step, epoch: resumePoint.history.length } : undefined,
    change: change ?? undefined,
  });

  const rel = relative(process.cwd(), outDir) || '.';
  const params = model.numParameters();
  out(
    `${resumed ? `resuming ${resumed.manifestPath} at epoch ${resumePoint!.epoch + 1}, step ${resumePoint!.step}: ` : config.demo ? 'no --dataset given: running the demo: ' : ''}` +
      `${config.model} (${params >= 1e5 ? `${(params / 1e6).toFixed(2)} M` : params.toLocaleString('en-US')} parameters) on ${config.dataset} (${data.train.numExamples} train / ${data.test?.numExamples ?? 0} test images, ${data.imageShape.join('×')}) ` +
      `from ${data.source}; ${config.optimizer} lr ${config.lr} momentum ${config.momentum} wd ${config.weightDecay}, ${config.schedule}${config.warmup ? ` + ${config.warmup} warm-up epochs` : ''}, ` +
      `batch ${config.batchSize}, ${config.epochs} epochs, seed ${config.seed}; ${backend.description}; outputs in ${rel}/`,
  );
  if (change) out(`changed on resume: ${Object.entries(change.set).map(([k, v]) => `${k} ${String(v.from)} → ${String(v.to)}`).join(', ')} (recorded in the checkpoints' config.changes and metrics.jsonl)`);
  emit?.({ event: 'start', config, backend: backend.name, out: outDir, parameters: params, resumed: resumed?.manifestPath ?? null });
  if (data.skipped.length) emit?.({ event: 'skipped_images', images: data.skipped.map(({ name, split, reason }) => ({ name, split, reason })) });

  stop.watch(output, resumed?.manifestPath ?? null);

  const tty = !json && Boolean(process.stderr.isTTY);
  const progress = json ? undefined : new Progress({ out: process.stderr, tty, columns: () => process.stderr.columns });
  const t0 = performance.now();
  const probe = config.logSteps ? new StepProbe(model.parameters(), ['pugd', 'sam', 'asam'].includes(config.optimizer)) : undefined;
  try {
    const r = await train({
      model, optimizer, schedule, train: data.train, test: data.test, epochs: config.epochs, output, progress,
      checkpointEverySteps: config.checkpointEvery,
      guard: { maxLossRatio: config.maxLossRatio ?? DEFAULT_GUARD.maxLossRatio, maxWeightNorm: config.maxWeightNorm ?? DEFAULT_GUARD.maxWeightNorm },
      readEveryStep: config.logSteps,
      probe,
      labelSmoothing: config.labelSmoothing,
      resume: resumePoint,
      shouldStop: () => stop.requested,
    });
    await writeProfile(outDir);
    const last = r.history[r.history.length - 1];
    const best = r.history.reduce<EpochRecord | null>((b, h) => (h.test_acc !== undefined && (!b || h.test_acc > b.test_acc!) ? h : b), null);
    const wall = (performance.now() - t0) / 1000;
    const summary = {
      config, backend: backend.name, backendDescription: backend.description, parameters: params, stopped: r.stopped,
      epochs: r.history.length, steps: r.steps, wall_time_s: Math.round(wall * 10) / 10,
      final: last ?? null, best_test_acc: best?.test_acc ?? null, best_epoch: best?.epoch ?? null,
      images_per_s: last ? last.images_per_s : null, last_checkpoint: r.lastCheckpoint,
    };
    if (r.stopped) {
      emit?.({ event: 'stopped', ...summary });
      return 130;
    }
    await output.finish(summary);
    emit?.({ event: 'done', ...summary, out: outDir });
    out(
      `done: ${r.history.length} epochs, ${r.steps} steps in ${formatDuration(wall)}` +
        (last?.test_acc !== undefined ? ` · test accuracy ${(100 * last.test_acc).toFixed(2)}% (best ${(100 * best!.test_acc!).toFixed(2)}% at epoch ${best!.epoch})` : '') +
        ` · ${last?.images_per_s.toFixed(1)} img/s`,
    );
    out(`outputs in ${rel}/:`);
    out(`  metrics.jsonl       one line of figures per epoch`);
    out(`  curves.svg          loss and accuracy curves (train and test)`);
    out(`  summary.json        the final figures and settings`);
    out(`  model.safetensors   final weights, PyTorch names (safetensors.torch.load_file)`);
    out(`  checkpoints/        resume or extend with: pugd train --resume ${rel} --epochs N`);
    return 0;
  } catch (e) {
    if (e instanceof NanLossError) {
      const advice = divergenceAdvice(a, config.lr, e.lastGood);
      const msg = `${e.message.replace(/\.\s*$/, '')}. ${e.lastGood ? 'Continue from it with a lower learning rate' : 'Start again with a lower learning rate'}: ${advice}`;
      process.stderr.write(`pugd: error: ${msg}\n`);
      emit?.({ event: 'error', error: msg, last_good_checkpoint: e.lastGood, advice });
      return 1;
    }
    if (e instanceof WriteError) {
      const good = e.lastGood ?? lastCheckpointOf(outDir);
      const msg = `${e.message}; training stopped${e.where ? ` at ${e.where}` : ''}; ${good ? `the last good checkpoint is ${good}; once the file can be written (free space, permissions), continue with: pugd train --resume ${shownPath(good)}` : 'no checkpoint was written yet'}`;
      process.stderr.write(`pugd: error: ${msg}\n`);
      emit?.({ event: 'error', error: msg, file: e.file, last_good_checkpoint: good });
      return 1;
    }
    throw e;
  } finally {
    await data.close();
    probe?.dispose();
    model.dispose();
    lock.release();
  }
}
