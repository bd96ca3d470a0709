// The training loop behind `pugd train`, written against three small interfaces so the optimizer,
// the learning-rate schedule and the data loader plug in without the loop knowing their types:
//   StepOptimizer: step(closure) where closure = forward + backward at the current weights (PUGD and
//                  SAM call it twice per step, SGD once), plus lr and state for checkpoints;
//   LrSchedule:    the learning rate for (epoch, batch) — closed form, so resuming needs no state;
//   Loader:        one epoch of (images, labels) batches at a time, with a saveable position.
// Per step the loss and correct count accumulate on the device; they are read when progress is due
// (every step on WASM, where a read costs nothing; at the progress interval on WebGPU, so the queue
// is not drained each step). Divergence is caught before it is NaN (see `DivergenceGuard`): at every
// read the mean loss since the previous read is compared with its running level and the weights' L2
// norm with a bound. A checkpoint counts as sane only once a later read passed, i.e. its own weights
// gave a sane loss; on divergence the loop stops naming the newest sane checkpoint and hands the
// later ones to `RunOutput.discard`. Outputs (metrics, plot, checkpoints) go through `RunOutput`.

import type { Module } from '../engine/nn/module.js';
import { tensor } from '../engine/create.js';
import { noGrad } from '../engine/autograd.js';
import { tidy, keep, dispose, type Tensor, type TensorContainer } from '../engine/tensor.js';
import { crossEntropy, countCorrect } from '../engine/ops/softmax_ce.js';
import { getBackend, profileStep } from '../engine/backend.js';
import type { Progress } from './progress.js';
import type { StepProbe, StepStats } from './step_probe.js';
import { InputError } from './args.js';

/** One batch on the current backend: images x [n, C, H, W] f32, labels y [n] i32. The loop disposes it. */
export interface Batch {
  x: Tensor;
  y: Tensor;
}

export interface Loader {
  /** Batches in one epoch. */
  readonly batchesPerEpoch: number;
  /** Images in one epoch (the last batch may be short). */
  readonly numExamples: number;
  /** [C, H, W] of one image. */
  readonly imageShape: readonly [number, number, number];
  /** The batches of the next epoch, continuing from the restored position after `loadState`. */
  epochBatches(): AsyncIterable<Batch>;
  /** The position after the last batch handed out (JSON-safe). */
  state(): unknown;
  loadState(s: unknown): void;
  close?(): Promise<void> | void;
}

export interface StepOptimizer {
  /**
   * One update. `closure` zeroes nothing: it runs forward and backward at the current weights and
   * returns the loss (gradients accumulate into `.grad`). Returns when the update is enqueued.
   */
  step(closure: () => Tensor): void | Promise<void>;
  setLr(lr: number): void;
  zeroGrad(): void;
  stateDict(): unknown;
  loadStateDict(s: unknown): void;
}

export interface LrSchedule {
  /** Learning rate for batch `batch` (0-based) of epoch `epoch` (0-based). */
  lrAt(epoch: number, batch: number, batchesPerEpoch: number): number;
  /** JSON-safe description for checkpoints and metrics. */
  describe(): Record<string, unknown>;
}

export interface EpochRecord {
  epoch: number;
  step: number;
  lr: number;
  train_loss: number;
  train_acc: number;
  test_loss?: number;
  test_acc?: number;
  train_images: number;
  train_time_s: number;
  images_per_s: number;
  test_time_s?: number;
  epoch_time_s: number;
  elapsed_s: number;
}

/** Where results go; the CLI writes files, tests may collect in memory. */
export interface RunOutput {
  epochDone(rec: EpochRecord, history: readonly EpochRecord[]): void | Promise<void>;
  /** Every step when losses are read each step; `stats` when a StepProbe measured the step. */
  stepDone?(step: number, epoch: number, loss: number, stats?: StepStats): void;
  /** Writes a checkpoint; returns a description of where (for messages). */
  checkpoint?(c: CheckpointState): Promise<string>;
  /** Checkpoints written after the last sane one when training diverged; returns where they went. */
  discard?(checkpoints: string[]): string;
  log(line: string): void;
}

export interface CheckpointState {
  epoch: number;
  step: number;
  batchInEpoch: number;
  optimizer: unknown;
  loader: unknown;
  history: EpochRecord[];
  /** Running sums of the unfinished epoch, so a mid-epoch resume reports the same epoch figures. */
  partial: { loss: number; correct: number; images: number; time: number };
  /** The divergence guard's running loss level (null before the first read). */
  lossLevel: number | null;
}

export interface ResumePoint {
  epoch: number;
  step: number;
  batchInEpoch: number;
  optimizer: unknown;
  loader: unknown;
  history: EpochRecord[];
  partial?: CheckpointState['partial'];
  lossLevel?: number | null;
  where: string;
}

/**
 * When training counts as diverged (besides a NaN/Inf loss or weights): the mean loss of the steps
 * since the previous read above `maxLossRatio` × max(running level, 1), where the running level is an
 * exponential moving average of the per-step loss (weight 0.1 per step); or the L2 norm of all
 * parameters above `maxWeightNorm`. 0 turns a test off.
 */
export interface DivergenceGuard {
  maxLossRatio: number;
  maxWeightNorm: number;
}
export const DEFAULT_GUARD: DivergenceGuard = { maxLossRatio: 10, maxWeightNorm: 1e5 };

export interface TrainerOptions {
  model: Module;
  optimizer: StepOptimizer;
  schedule: LrSchedule;
  train: Loader;
  test?: Loader;
  epochs: number;
  output: RunOutput;
  progress?: Progress;
  /** Checkpoint every this many steps inside an epoch as well (0: only at epoch ends). */
  checkpointEverySteps?: number;
  /** Read the loss every step (steps.jsonl, exact NaN detection) even on WebGPU. */
  readEveryStep?: boolean;
  labelSmoothing?: number;
  /** Per-step ‖Δw‖, ‖g‖, ‖ε‖, cos(g1, g2) (cli/step_probe.ts), read in one readback with the step's loss. */
  probe?: StepProbe;
  resume?: ResumePoint;
  /** Stops cleanly (checkpoint, then return) when it turns true: SIGINT/SIGTERM. */
  shouldStop?: () => boolean;
  /** Divergence detection (default DEFAULT_GUARD). */
  guard?: DivergenceGuard;
}

/** Training diverged (a non-finite or runaway loss, runaway weights); names the newest sane checkpoint. */
export class NanLossError extends Error {
  constructor(message: string, readonly lastGood: string | null = null, readonly step = 0) {
    super(message);
    this.name = 'NanLossError';
  }
}

export interface TrainResult {
  history: EpochRecord[];
  steps: number;
  stopped: boolean;
  lastCheckpoint: string | null;
}

/** Runs the data of `loader` through `model` in eval mode; mean loss and accuracy. */
export async function evaluate(model: Module, loader: Loader, progress?: Progress, label = 'test'): Promise<{ loss: number; acc: number; images: number; time: number }> {
  const t0 = performance.now();
  model.eval();
  let lossSum = keep(noGrad(() => tensor([0], [1])));
  let correct = keep(noGrad(() => tensor([0], [1])));
  let images = 0;
  let b = 0;
  progress?.start(label, loader.batchesPerEpoch);
  try {
    for await (const batch of loader.epochBatches()) {
      const n = batch.y.shape[0];
      const [l2, c2] = noGrad(() =>
        tidy(() => {
          const logits = model.forward(batch.x);
          return [lossSum.add(crossEntropy(logits, batch.y, { reduction: 'sum' })), correct.add(countCorrect(logits, batch.y))];
        }),
      );
      batch.x.dispose();
      batch.y.dispose();
      lossSum.dispose();
      correct.dispose();
      lossSum = keep(l2);
      correct = keep(c2);
      images += n;
      b++;
      if (progress?.due()) {
        progress.update({ batch: b, images, loss: (await lossSum.item()) / images, acc: (await correct.item()) / images });
      }
    }
    progress?.end();
    const loss = (await lossSum.item()) / Math.max(1, images);
    const acc = (await correct.item()) / Math.max(1, images);
    return { loss, acc, images, time: (performance.now() - t0) / 1000 };
  } finally {
    lossSum.dispose();
    correct.dispose();
    model.train();
  }
}

/**
 * Trains `model` for the remaining epochs (all of them, or from `resume`).
 *
 * @example
 *   const r = await train({ model, optimizer, schedule, train: loader, test, epochs: 10, output });
 */
export async function train(o: TrainerOptions): Promise<TrainResult> {
  const { model, optimizer, schedule, train: loader, epochs, output } = o;
  const [C, H, W] = loader.imageShape;
  const history: EpochRecord[] = o.resume ? [...o.resume.history] : [];
  let step = o.resume?.step ?? 0;
  let startEpoch = o.resume?.epoch ?? 0;
  let startBatch = o.resume?.batchInEpoch ?? 0;
  if (o.resume) {
    const r = o.resume;
    const refuse = (field: string, e: unknown) => new InputError(`checkpoint ${r.where}: field '${field}' does not fit this run: ${(e as Error).message.split('\n')[0]}`);
    try {
      optimizer.loadStateDict(r.optimizer);
    } catch (e) {
      throw refuse('optimizer', e);
    } finally {
      // The optimizer copied the checkpoint's tensors into its own buffers.
      dispose(r.optimizer as TensorContainer);
    }
    if (r.loader !== undefined && r.loader !== null) {
      try {
        loader.loadState(r.loader);
      } catch (e) {
        throw refuse('loader', e);
      }
    }
  }
  const readEvery = o.readEveryStep || getBackend().name === 'wasm';
  const runStart = performance.now();
  const elapsedBefore = history.length ? history[history.length - 1].elapsed_s : 0;
  let lastCheckpoint: string | null = o.resume?.where ?? null;
  // The newest checkpoint whose weights gave a sane loss, and the one written since (not yet vouched
  // for by a later read). A resumed checkpoint was chosen by the user: it counts as sane.
  let saneCheckpoint: string | null = lastCheckpoint;
  let pending: { path: string; step: number } | null = null;
  const guard = o.guard ?? DEFAULT_GUARD;
  let lossLevel: number | null = o.resume?.lossLevel ?? null;
  const params = model.parameters();
  let stopped = false;
  model.train();

  /** Runs an output write; a file that cannot be written (WriteError) learns where training stopped and the newest checkpoint on disk. */
  const writes = async <T>(where: string, fn: () => T | Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if ((e as Error).name === 'WriteError') {
        o.progress?.end();
        Object.assign(e as object, { lastGood: lastCheckpoint, where });
      }
      throw e;
    }
  };

  /** Stops training: the message, the newest sane checkpoint, and the later ones discarded. */
  const diverged = (what: string, where: string): never => {
    o.progress?.end();
    let moved = '';
    if (pending && output.discard) {
      moved = `; ${pending.path}, written from weights that did not train sanely, was moved to ${output.discard([pending.path])}`;
      pending = null;
    }
    const good = `${saneCheckpoint ? `the last checkpoint whose loss was sane is ${saneCheckpoint}` : 'no sane checkpoint was written before'}${moved}`;
    throw new NanLossError(`training diverged in ${where}: ${what}; ${good}`, saneCheckpoint, step);
  };

  for (let epoch = startEpoch; epoch < epochs && !stopped; epoch++) {
    const partial = epoch === startEpoch && startBatch > 0 ? o.resume?.partial : undefined;
    const epochStart = performance.now();
    let lossSum = keep(noGrad(() => tensor([partial?.loss ?? 0], [1])));
    let correct = keep(noGrad(() => tensor([partial?.correct ?? 0], [1])));
    let images = partial?.images ?? 0;
    let timeBefore = partial?.time ?? 0;
    let batch = epoch === startEpoch ? startBatch : 0;
    let lastGood = { step, batch };
    let lr = schedule.lrAt(epoch, batch, loader.batchesPerEpoch);
    o.progress?.start(`epoch ${epoch + 1}/${epochs}`, loader.batchesPerEpoch, batch, images);

    // The sums at the previous read, for the mean loss of the steps in between.
    let read = { step, loss: partial?.loss ?? 0, images };
    /** The divergence tests at the current step (once per step); a pass vouches for `pending`. */
    const guardNow = async () => {
      if (read.step === step) return;
      // The weights' squared norm is enqueued before the loss is read and both are awaited together:
      // one wait for the device per read, not two in a row.
      const sq = guard.maxWeightNorm > 0 ? keep(noGrad(() => tidy(() => params.map((p) => p.sumSquares()).reduce((a, b) => a.add(b))))) : null;
      let ls: number;
      let sqNorm = 0;
      try {
        [ls, sqNorm] = await Promise.all([lossSum.item(), sq ? sq.item() : 0]);
      } finally {
        sq?.dispose();
      }
      const where = `epoch ${epoch + 1} between step ${lastGood.step} and step ${step}`;
      if (!Number.isFinite(ls)) diverged(`the training loss became ${ls} (lr ${lr.toPrecision(3)})`, where);
      const mean = (ls - read.loss) / Math.max(1, images - read.images);
      const n = step - read.step;
      if (guard.maxLossRatio > 0 && lossLevel !== null && mean > guard.maxLossRatio * Math.max(lossLevel, 1)) {
        diverged(`the loss rose to ${mean.toPrecision(3)}, more than ${guard.maxLossRatio}× its running level ${lossLevel.toPrecision(3)} (lr ${lr.toPrecision(3)}; --max-loss-ratio)`, where);
      }
      if (sq) {
        const norm = Math.sqrt(sqNorm);
        // Three digits, or more when three would print the bound itself (1.00e+5 for 100,012 > 1e5).
        const shown = Number(norm.toPrecision(3)) > guard.maxWeightNorm ? norm.toPrecision(3) : norm.toPrecision(8);
        if (!(norm <= guard.maxWeightNorm)) diverged(`the weights' L2 norm reached ${shown}, above the bound ${guard.maxWeightNorm} (lr ${lr.toPrecision(3)}; --max-weight-norm)`, where);
      }
      lossLevel = lossLevel === null ? mean : lossLevel * 0.9 ** n + mean * (1 - 0.9 ** n);
      read = { step, loss: ls, images };
      lastGood = { step, batch };
      if (pending && pending.step < step) {
        saneCheckpoint = pending.path;
        pending = null;
      }
    };

    const checkNumbers = async (force: boolean) => {
      if (!force && !o.progress?.due() && !readEvery) return;
      await guardNow();
      o.progress?.update({ batch, images, loss: read.loss / Math.max(1, images), acc: (await correct.item()) / Math.max(1, images) }, force);
    };

    // Errors inside a step (a non-finite loss the optimizer refused, a lost device) stop training
    // with where it happened and which checkpoint is still good.
    const stepWithContext = async (fn: () => void | Promise<void>) => {
      try {
        await fn();
      } catch (e) {
        const msg = (e as Error).message.replace(/\.\s*$/, '');
        const where = `epoch ${epoch + 1}, step ${step + 1}`;
        if (/not finite|NaN|Inf/.test(msg)) diverged(msg, where);
        o.progress?.end();
        const good = saneCheckpoint ? `the last good checkpoint is ${saneCheckpoint}` : 'no checkpoint was written yet';
        throw new Error(`training stopped in ${where}: ${msg}; ${good}`);
      }
    };

    const writeCheckpoint = async (epochDone: boolean) => {
      if (!output.checkpoint) return;
      // Never checkpoint a diverged model: the tests run first (a no-op if this step was read).
      await guardNow();
      const ls = await lossSum.item();
      try {
        const path = await writes(`epoch ${epoch + 1}, step ${step}`, () => writeOne(ls, epochDone));
        pending = { path, step };
        lastCheckpoint = path;
      } catch (e) {
        if ((e as Error).name !== 'NonFiniteWeightsError') throw e;
        diverged(`the weights are no longer finite (${(e as Error).message}), so no checkpoint was written`, `epoch ${epoch + 1} after step ${step}`);
      }
    };
    const writeOne = async (ls: number, epochDone: boolean) =>
      output.checkpoint!({
        epoch: epochDone ? epoch + 1 : epoch,
        step,
        batchInEpoch: epochDone ? 0 : batch,
        optimizer: optimizer.stateDict(),
        loader: loader.state(),
        history: [...history],
        partial: { loss: ls, correct: await correct.item(), images, time: timeBefore + (performance.now() - epochStart) / 1000 },
        lossLevel,
      });

    try {
      for await (const b of loader.epochBatches()) {
        const { x, y } = b;
        const n = y.shape[0];
        if (x.rank !== 4 || x.shape[1] !== C || x.shape[2] !== H || x.shape[3] !== W || x.shape[0] !== n) {
          x.dispose();
          y.dispose();
          throw new Error(`the data loader gave a batch of images [${x.shape.join(',')}] with ${n} labels; expected [${n},${C},${H},${W}]`);
        }
        lr = schedule.lrAt(epoch, batch, loader.batchesPerEpoch);
        optimizer.setLr(lr);
        // Every pass's loss is returned to the optimizer; the first (clean) pass's loss and correct
        // count are what the epoch figures report, as the reference's "closure" mode logs.
        const passes: { loss: Tensor; correct: Tensor | null }[] = [];
        let stats: Tensor | null = null;
        o.probe?.begin();
        try {
          await stepWithContext(() => optimizer.step(() => {
            const r = tidy(() => {
              const logits = model.forward(x);
              const loss = crossEntropy(logits, y, { labelSmoothing: o.labelSmoothing ?? 0 });
              return { loss, correct: passes.length === 0 ? noGrad(() => countCorrect(logits, y)) : null };
            });
            r.loss.backward();
            o.probe?.afterBackward();
            passes.push({ loss: keep(r.loss), correct: r.correct ? keep(r.correct) : null });
            return r.loss;
          }));
          if (passes.length) stats = o.probe?.end(passes[0].loss) ?? null;
          profileStep();
        } finally {
          o.probe?.release();
          x.dispose();
          y.dispose();
          for (const p of passes.slice(1)) p.loss.dispose();
        }
        if (passes.length === 0) throw new Error('optimizer.step did not call the closure: no loss was computed');
        const f = { loss: passes[0].loss, correct: passes[0].correct! };
        const [l2, c2] = noGrad(() => tidy(() => [lossSum.add(f.loss.mul(n)), correct.add(f.correct)]));
        lossSum.dispose();
        correct.dispose();
        lossSum = keep(l2);
        correct = keep(c2);
        if (readEvery && output.stepDone) {
          // With a probe, the loss travels in its vector: still one readback per step.
          const r = stats ? await o.probe!.read(stats) : { loss: await f.loss.item(), stats: undefined };
          await writes(`epoch ${epoch + 1}, step ${step + 1}`, () => output.stepDone!(step + 1, epoch, r.loss, r.stats));
        }
        stats?.dispose();
        f.loss.dispose();
        f.correct.dispose();
        step++;
        batch++;
        images += n;
        await checkNumbers(false);
        if (o.shouldStop?.()) {
          stopped = true;
          break;
        }
        if (o.checkpointEverySteps && step % o.checkpointEverySteps === 0 && batch < loader.batchesPerEpoch) await writeCheckpoint(false);
      }
      await checkNumbers(true);
      o.progress?.end();
      if (stopped) {
        await writeCheckpoint(false);
        output.log(`stopped at epoch ${epoch + 1}, step ${step}${lastCheckpoint ? `; resume with --resume ${lastCheckpoint}` : ''}`);
        break;
      }
      const trainTime = timeBefore + (performance.now() - epochStart) / 1000;
      const trainLoss = (await lossSum.item()) / Math.max(1, images);
      const trainAcc = (await correct.item()) / Math.max(1, images);
      const ev = o.test ? await evaluate(model, o.test, o.progress) : null;
      const rec: EpochRecord = {
        epoch: epoch + 1,
        step,
        lr,
        train_loss: trainLoss,
        train_acc: trainAcc,
        ...(ev ? { test_loss: ev.loss, test_acc: ev.acc } : {}),
        train_images: images,
        train_time_s: round(trainTime),
        images_per_s: round(images / Math.max(trainTime, 1e-9)),
        ...(ev ? { test_time_s: round(ev.time) } : {}),
        epoch_time_s: round(trainTime + (ev?.time ?? 0)),
        elapsed_s: round(elapsedBefore + (performance.now() - runStart) / 1000),
      };
      history.push(rec);
      await writes(`epoch ${epoch + 1}, step ${step}`, () => output.epochDone(rec, history));
      // Reset the epoch sums before the checkpoint, so it records an epoch boundary.
      lossSum.dispose();
      correct.dispose();
      lossSum = keep(noGrad(() => tensor([0], [1])));
      correct = keep(noGrad(() => tensor([0], [1])));
      images = 0;
      timeBefore = 0;
      await writeCheckpoint(true);
      // A stop asked for during the test pass: the epoch's checkpoint is the one to resume from.
      if (epoch + 1 < epochs && o.shouldStop?.()) {
        stopped = true;
        output.log(`stopped after epoch ${epoch + 1}, step ${step}${lastCheckpoint ? `; resume with --resume ${lastCheckpoint}` : ''}`);
      }
    } finally {
      lossSum.dispose();
      correct.dispose();
    }
    startBatch = 0;
    startEpoch = epoch + 1;
  }
  return { history, steps: step, stopped, lastCheckpoint };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
