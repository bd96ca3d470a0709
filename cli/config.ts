// A run's configuration, read by the training command (cli/train.ts) and by the builders of its parts
// (cli/components.ts). In a file of its own so that those two do not import each other.

import type { DatasetName, OptimizerName } from './commands.js';
import type { RunChange } from './recovery.js';

/** Everything that defines a run; saved in config.json and in every checkpoint. */
export interface RunConfig {
  model: string;
  width?: number;
  dataset: DatasetName;
  data: string;
  optimizer: OptimizerName;
  lr: number;
  momentum: number;
  weightDecay: number;
  labelSmoothing: number;
  epochs: number;
  batchSize: number;
  schedule: 'cosine' | 'step' | 'constant';
  warmup: number;
  seed: number;
  augment: boolean;
  limitTrain?: number;
  limitTest?: number;
  demo: boolean;
  /** The backend the run trains on (a resumed run keeps it unless --backend is given). */
  backend?: 'wasm' | 'webgpu';
  /** Leave out images that cannot be read (checked before training), instead of an error. */
  skipBadImages?: boolean;
  /** Run options that a resumed run keeps unless they are given again. */
  logSteps: boolean;
  checkpointEvery: number;
  /** Divergence guard (trainer.ts DivergenceGuard); older checkpoints lack them: the defaults. */
  maxLossRatio?: number;
  maxWeightNorm?: number;
  /** Explicit changes made when resuming (--lr, --schedule, … beside --resume). */
  changes?: RunChange[];
}
