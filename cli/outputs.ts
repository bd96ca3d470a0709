// What a training run leaves in --out: metrics.jsonl (one JSON object per epoch), curves.svg
// (redrawn every epoch), steps.jsonl (with --log-steps), config.json, summary.json at the end,
// checkpoints/ and model.safetensors (the final weights). Every file that is rewritten is written
// atomically, so a reader (or a kill) never sees half a file. On resume into the same folder the
// per-epoch and per-step logs are cut back to the checkpoint, so nothing is counted twice.

import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Module } from '../engine/nn/module.js';
import { saveSafetensors } from '../engine/io/state.js';
import { globalGenerator } from '../engine/random.js';
import { plotSvg, type StepPoint } from './plot.js';
import type { StepStats } from './step_probe.js';
import { saveCheckpoint, writeFileAtomic, moveCheckpoint, writing } from './checkpoint.js';
import type { CheckpointState, EpochRecord, RunOutput } from './trainer.js';

export interface FileOutputOptions {
  dir: string;
  model: Module;
  /** Title of the plot: model · dataset · optimizer. */
  title: string;
  config: Record<string, unknown>;
  /** Lines for humans (stderr or stdout), or nothing with --json. */
  log: (line: string) => void;
  /** JSON lines on stdout (--json). */
  json?: (obj: Record<string, unknown>) => void;
  logSteps: boolean;
  scheduler: () => unknown;
  /** Restart point: cut the logs back to this step and epoch. */
  resumedAt?: { step: number; epoch: number };
  /** Settings changed on this resume: recorded in the first epoch line written after it. */
  change?: object;
  keepCheckpoints?: number;
}

export class FileOutput implements RunOutput {
  readonly metricsPath: string;
  readonly plotPath: string;
  readonly stepsPath: string;
  readonly checkpointDir: string;
  constructor(private readonly o: FileOutputOptions) {
    writing(o.dir, () => mkdirSync(o.dir, { recursive: true }));
    this.metricsPath = join(o.dir, 'metrics.jsonl');
    this.plotPath = join(o.dir, 'curves.svg');
    this.stepsPath = join(o.dir, 'steps.jsonl');
    this.checkpointDir = join(o.dir, 'checkpoints');
    this.changeToRecord = o.change;
    writeFileAtomic(join(o.dir, 'config.json'), `${JSON.stringify(o.config, null, 2)}\n`);
    if (o.resumedAt) {
      cutLines(this.metricsPath, (r) => Number(r.epoch) <= o.resumedAt!.epoch);
      cutLines(this.stepsPath, (r) => Number(r.step) <= o.resumedAt!.step);
    } else {
      writeFileAtomic(this.metricsPath, '');
      if (o.logSteps) writeFileAtomic(this.stepsPath, '');
    }
  }

  log(line: string): void {
    this.o.log(line);
  }

  stepDone(step: number, epoch: number, loss: number, stats?: StepStats): void {
    if (!this.o.logSteps) return;
    const line = `${JSON.stringify({ step, epoch: epoch + 1, loss, ...(stats ? { update_norm: stats.dw, grad_norm: stats.g, eps_norm: stats.eps, grad_cos: stats.cos } : {}) })}\n`;
    writing(this.stepsPath, () => appendFileSync(this.stepsPath, line));
  }

  /** ‖Δw‖ per step from steps.jsonl (empty without --log-steps diagnostics). */
  private updateNorms(): StepPoint[] {
    if (!this.o.logSteps || !existsSync(this.stepsPath)) return [];
    const pts: StepPoint[] = [];
    for (const line of readFileSync(this.stepsPath, 'utf8').split('\n')) {
      if (!line.includes('update_norm')) continue;
      try {
        const r = JSON.parse(line) as { step: number; update_norm: number };
        pts.push({ step: r.step, dw: r.update_norm });
      } catch {
        // a torn line
      }
    }
    return pts;
  }

  private changeToRecord: object | undefined;

  epochDone(rec: EpochRecord, history: readonly EpochRecord[]): void {
    const line = `${JSON.stringify(this.changeToRecord ? { ...rec, changed: this.changeToRecord } : rec)}\n`;
    writing(this.metricsPath, () => appendFileSync(this.metricsPath, line));
    this.changeToRecord = undefined;
    writeFileAtomic(this.plotPath, plotSvg(history.map((h) => ({ epoch: h.epoch, trainLoss: h.train_loss, trainAcc: h.train_acc, testLoss: h.test_loss, testAcc: h.test_acc })), this.o.title, this.updateNorms()));
    const test = rec.test_acc !== undefined ? ` · test loss ${rec.test_loss!.toFixed(4)} acc ${(100 * rec.test_acc).toFixed(2)}%` : '';
    this.o.log(
      `epoch ${rec.epoch}: train loss ${rec.train_loss.toFixed(4)} acc ${(100 * rec.train_acc).toFixed(2)}%${test} · lr ${rec.lr.toPrecision(3)} · ` +
        `${rec.images_per_s.toFixed(1)} img/s · ${rec.epoch_time_s.toFixed(1)} s`,
    );
    this.o.json?.({ event: 'epoch', ...rec });
  }

  async checkpoint(c: CheckpointState): Promise<string> {
    // A diverged model (NaN/Inf weights) is never written over a good checkpoint.
    const modelBytes = await saveSafetensors(this.o.model, { epoch: String(c.epoch), step: String(c.step) }, { requireFinite: true });
    const path = await saveCheckpoint({
      dir: this.checkpointDir,
      epoch: c.epoch,
      step: c.step,
      batchInEpoch: c.batchInEpoch,
      config: this.o.config,
      modelBytes,
      optimizer: c.optimizer,
      scheduler: this.o.scheduler(),
      rng: { global: globalGenerator.getState() },
      loader: c.loader,
      extra: { history: c.history, partial: c.partial, lossLevel: c.lossLevel },
      keep: this.o.keepCheckpoints ?? 2,
    });
    this.o.json?.({ event: 'checkpoint', path, epoch: c.epoch, step: c.step });
    return path;
  }

  /** Moves checkpoints of a diverged stretch to checkpoints/diverged/ (kept for inspection, never resumed). */
  discard(checkpoints: string[]): string {
    const to = join(this.checkpointDir, 'diverged');
    for (const m of checkpoints) moveCheckpoint(m, to);
    return to;
  }

  /** The final weights as model.safetensors, and summary.json. */
  async finish(summary: Record<string, unknown>): Promise<void> {
    writeFileAtomic(join(this.o.dir, 'model.safetensors'), await saveSafetensors(this.o.model));
    writeFileAtomic(join(this.o.dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  }
}

/** Keeps the JSON lines of `path` for which `keep` holds (drops torn last lines too). */
function cutLines(path: string, keep: (r: Record<string, unknown>) => boolean): void {
  if (!existsSync(path)) return;
  const kept: string[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      if (keep(JSON.parse(line))) kept.push(line);
    } catch {
      // a line torn by a kill
    }
  }
  writeFileAtomic(path, kept.map((l) => `${l}\n`).join(''));
}

