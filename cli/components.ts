// The seams between the CLI and the engine's optimizers, learning-rate schedules and data loaders:
// each turns a RunConfig into the small interface the training loop uses (cli/trainer.ts), so the
// loop never depends on their concrete types.

import type { Module } from '../engine/nn/module.js';
import type { Loader, LrSchedule, StepOptimizer } from './trainer.js';
import type { OptimizerName } from './commands.js';
import type { RunConfig } from './train.js';
import type { SelectedBackend } from './backend.js';

/** The defaults that depend on the optimizer: lr and weight decay (PyTorch's for Adam/AdamW). */
export function defaultHyper(opt: OptimizerName): { lr: number; weightDecay: number } {
  if (opt === 'adam') return { lr: 1e-3, weightDecay: 0 };
  if (opt === 'adamw') return { lr: 1e-3, weightDecay: 0.01 };
  return { lr: 0.1, weightDecay: 5e-4 };
}

export function createOptimizer(config: RunConfig, model: Module): StepOptimizer {
  void model;
  throw new Error(`--optimizer ${config.optimizer}: the optimizers are not in this build yet (they land with the optim branch)`);
}

export function createSchedule(config: RunConfig): LrSchedule {
  throw new Error(`--schedule ${config.schedule}: the schedules are not in this build yet (they land with the optim branch)`);
}

export interface OpenedData {
  train: Loader;
  test?: Loader;
  numClasses: number;
  imageShape: readonly [number, number, number];
  /** Where the data came from, for the log. */
  source: string;
  close(): Promise<void>;
}

export async function openData(config: RunConfig, backend: SelectedBackend, opts: { testOnly?: boolean } = {}): Promise<OpenedData> {
  void backend;
  void opts;
  throw new Error(`--dataset ${config.dataset}: the data loaders are not in this build yet (they land with the datasets branch)`);
}
