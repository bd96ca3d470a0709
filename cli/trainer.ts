// The training loop behind `pugd train`, written against three small interfaces so the optimizer,
// the learning-rate schedule and the data loader plug in without the loop knowing their types:
//   StepOptimizer: step(closure) where closure = forward + backward at the current weights (PUGD and
//                  SAM call it twice per step, SGD once), plus lr and state for checkpoints;
//   LrSchedule:    the learning rate for (epoch, batch) — closed form, so resuming needs no state;
//   Loader:        one epoch of (images, labels) batches at a time, with a saveable position.
// Per step the loss and correct count accumulate on the device; they are read when progress is due
// (every step on WASM, where a read costs nothing; at the progress interval on WebGPU, so the queue
// is not drained each step). A NaN/Inf loss stops training with a message naming the epoch and step
// and leaves the last checkpoint as it was. Outputs (metrics, plot, checkpoints) go through `RunOutput`.

import type { Module } from '../engine/nn/module.js';
import { tensor } from '../engine/create.js';
import { noGrad } from '../engine/autograd.js';
import { tidy, keep, dispose, type Tensor, type TensorContainer } from '../engine/tensor.js';
import { crossEntropy, countCorrect } from '../engine/ops/softmax_ce.js';
import { getBackend } from '../engine/backend.js';
import type { Progress } from './progress.js';

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
  stepDone?(step: number, epoch: number, loss: number): void;
  /** Writes a checkpoint; returns a description of where (for messages). */
  checkpoint?(c: CheckpointState): Promise<string>;
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
}

export interface ResumePoint {
  epoch: number;
  step: number;
  batchInEpoch: number;
  optimizer: unknown;
  loader: unknown;
  history: EpochRecord[];
  partial?: CheckpointState['partial'];
  where: string;
}

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
  resume?: ResumePoint;
  /** Stops cleanly (checkpoint, then return) when it turns true: SIGINT/SIGTERM. */
  shouldStop?: () => boolean;
}

export class NanLossError extends Error {
  constructor(message: string) {
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
    optimizer.loadStateDict(o.resume.optimizer);
    // The optimizer copied the checkpoint's tensors into its own buffers.
    dispose(o.resume.optimizer as TensorContainer);
    if (o.resume.loader !== undefined && o.resume.loader !== null) loader.loadState(o.resume.loader);
  }
  const readEvery = o.readEveryStep || getBackend().name === 'wasm';
  const runStart = performance.now();
  const elapsedBefore = history.length ? history[history.length - 1].elapsed_s : 0;
  let lastCheckpoint: string | null = o.resume?.where ?? null;
  let stopped = false;
  model.train();

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

    const checkNumbers = async (force: boolean) => {
      if (!force && !o.progress?.due() && !readEvery) return;
      const ls = await lossSum.item();
      if (!Number.isFinite(ls)) {
        o.progress?.end();
        throw new NanLossError(
          `the training loss became ${ls} in epoch ${epoch + 1} between step ${lastGood.step} and step ${step} (lr ${lr.toPrecision(3)}); ` +
            `training stopped${lastCheckpoint ? `, the last good checkpoint is ${lastCheckpoint}` : ' before any checkpoint was written'}. ` +
            'Try a lower --lr, more --warmup or a smaller --batch-size.',
        );
      }
      lastGood = { step, batch };
      o.progress?.update({ batch, images, loss: ls / Math.max(1, images), acc: (await correct.item()) / Math.max(1, images) }, force);
    };

    // Errors inside a step (a non-finite loss the optimizer refused, a lost device) stop training
    // with where it happened and which checkpoint is still good.
    const stepWithContext = async (fn: () => void | Promise<void>) => {
      try {
        await fn();
      } catch (e) {
        const msg = (e as Error).message;
        const where = `epoch ${epoch + 1}, step ${step + 1}`;
        const good = lastCheckpoint ? `the last good checkpoint is ${lastCheckpoint}` : 'no checkpoint was written yet';
        o.progress?.end();
        if (/not finite|NaN|Inf/.test(msg)) {
          throw new NanLossError(`training stopped in ${where}: ${msg.replace(/\.\s*$/, '')}; ${good}. Try a lower --lr, more --warmup or a smaller --batch-size.`);
        }
        throw new Error(`training stopped in ${where}: ${msg.replace(/\.\s*$/, '')}; ${good}`);
      }
    };

    const writeCheckpoint = async (epochDone: boolean) => {
      if (!output.checkpoint) return;
      const ls = await lossSum.item();
      if (!Number.isFinite(ls)) return; // never checkpoint a diverged model
      try {
        lastCheckpoint = await writeOne(ls, epochDone);
      } catch (e) {
        if ((e as Error).name !== 'NonFiniteWeightsError') throw e;
        o.progress?.end();
        throw new NanLossError(
          `training stopped in epoch ${epoch + 1} after step ${step}: the weights are no longer finite (${(e as Error).message}), so no checkpoint was written; ` +
            `${lastCheckpoint ? `the last good checkpoint is ${lastCheckpoint}` : 'no checkpoint was written before'}. Try a lower --lr, more --warmup or a smaller --batch-size.`,
        );
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
        try {
          await stepWithContext(() => optimizer.step(() => {
            const r = tidy(() => {
              const logits = model.forward(x);
              const loss = crossEntropy(logits, y, { labelSmoothing: o.labelSmoothing ?? 0 });
              return { loss, correct: passes.length === 0 ? noGrad(() => countCorrect(logits, y)) : null };
            });
            r.loss.backward();
            passes.push({ loss: keep(r.loss), correct: r.correct ? keep(r.correct) : null });
            return r.loss;
          }));
        } finally {
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
        if (readEvery && output.stepDone) output.stepDone(step + 1, epoch, await f.loss.item());
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
      await output.epochDone(rec, history);
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
