// The `optim` namespace: optimizers with PyTorch's names and semantics (camelCase options), PUGD, and
// learning-rate schedules (`optim.lr_scheduler.*`, also re-exported at the top level).
export { Optimizer, EPS, QUEUED_CHECK_EVERY, type Closure, type ParamGroup, type ParamsInput, type OptimizerStateDict, type Hyper } from './optimizer.js';
export { SGD, type SGDOptions, type SGDHyper } from './sgd.js';
export { Adam, AdamW, type AdamOptions, type AdamHyper } from './adam.js';
export { PUGD, PUGD_DEFAULTS, type PUGDOptions } from './pugd.js';
export { SAM, type SAMOptions, type SAMBase } from './sam.js';
export { UGD, type UGDOptions } from './ugd.js';
export * as lr_scheduler from './lr_scheduler.js';
export {
  LRScheduler, CosineAnnealingLR, StepLR, MultiStepLR, LinearLR, SequentialLR, linearWarmup, type SchedulerStateDict,
} from './lr_scheduler.js';
