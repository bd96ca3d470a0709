// Learning-rate schedules with PyTorch's names (torch.optim.lr_scheduler), in closed form.
//
// A scheduler owns a counter t (PyTorch's last_epoch): construction sets every group's lr to the
// schedule at t = 0, each `step()` advances t by one and sets lr again. t counts whatever the caller
// steps it on: call `step()` once per epoch with T in epochs (the PUGD reference: CosineAnnealingLR
// with T_max = epochs, stepped after each epoch, SPEC §1.4), or once per optimizer step with T in
// steps (a per-step schedule). Composed schedulers (SequentialLR, linearWarmup) count in one unit.
//
// Every value is a closed form of (t, base lr), never a product of past values, so a schedule
// resumed from `stateDict()` gives the same learning rates bit for bit.
//
// Base learning rates: the lr a group had when the first scheduler was attached to its optimizer
// (PyTorch's `initial_lr`), so several schedulers over one optimizer agree on them.
//
// Not handled: ReduceLROnPlateau, OneCycleLR, cyclic schedules, momentum schedules.

import { checkHyper, checkKeys } from './optimizer.js';

/** What a scheduler drives: anything with `paramGroups` holding an `lr` (every optimizer here). */
export interface HasParamGroups {
  readonly paramGroups: readonly object[];
}

type LrGroup = { lr: number };

/** `stateDict()` of a scheduler: JSON-serialisable. */
export interface SchedulerStateDict {
  type: string;
  lastEpoch: number;
  baseLrs: number[];
  config: Record<string, number | number[]>;
  children?: SchedulerStateDict[];
}

const initialLrs = new WeakMap<object, number>();

function baseLrsOf(opt: HasParamGroups, owner: string): number[] {
  if (!opt || !Array.isArray(opt.paramGroups)) throw new Error(`${owner}: expected an optimizer (with paramGroups), got ${String(opt)}`);
  return (opt.paramGroups as LrGroup[]).map((g, i) => {
    if (!initialLrs.has(g)) {
      checkHyper(`${owner} param group ${i}`, 'lr', g.lr, { type: 'number', min: 0 });
      initialLrs.set(g, g.lr);
    }
    return initialLrs.get(g)!;
  });
}

/** The scheduler protocol; subclasses give the closed form `lrAt(t, base)`. */
export abstract class LRScheduler {
  protected t = 0;
  protected baseLrs: number[];

  protected constructor(
    readonly optimizer: HasParamGroups,
    readonly type: string,
    protected readonly config: Record<string, number | number[]>,
    apply = true,
  ) {
    this.baseLrs = baseLrsOf(optimizer, type);
    if (apply) this.apply();
  }

  /** The learning rate at counter `t` for a group whose base lr is `base`. */
  abstract lrAt(t: number, base: number): number;

  /** Advances the counter by one and sets every group's lr. */
  step(): void {
    this.t++;
    this.apply();
  }

  /** The learning rate of each group now (PyTorch's get_last_lr()). */
  getLr(): number[] {
    return (this.optimizer.paramGroups as LrGroup[]).map((g) => g.lr);
  }

  /** Steps taken (PyTorch's last_epoch). */
  get lastEpoch(): number {
    return this.t;
  }

  protected apply(): void {
    (this.optimizer.paramGroups as LrGroup[]).forEach((g, i) => {
      g.lr = this.lrAt(this.t, this.baseLrs[i]);
    });
  }

  stateDict(): SchedulerStateDict {
    return { type: this.type, lastEpoch: this.t, baseLrs: [...this.baseLrs], config: structuredClone(this.config) };
  }

  /** Restores the counter and base lrs from `stateDict()` of the same schedule, and sets the lrs. */
  loadStateDict(sd: SchedulerStateDict): void {
    const owner = `${this.type}.loadStateDict`;
    this.checkState(sd, owner);
    this.t = sd.lastEpoch;
    this.baseLrs = [...sd.baseLrs];
    this.apply();
  }

  protected checkState(sd: SchedulerStateDict, owner: string): void {
    if (!sd || sd.type !== this.type) throw new Error(`${owner}: the state is from ${sd ? `a ${sd.type}` : String(sd)}, not a ${this.type}`);
    if (JSON.stringify(sd.config) !== JSON.stringify(this.config)) {
      throw new Error(`${owner}: the state was saved with ${JSON.stringify(sd.config)}, this scheduler has ${JSON.stringify(this.config)}`);
    }
    if (!Number.isInteger(sd.lastEpoch) || sd.lastEpoch < 0) throw new Error(`${owner}: lastEpoch must be an integer ≥ 0, got ${sd.lastEpoch}`);
    if (!Array.isArray(sd.baseLrs) || sd.baseLrs.length !== this.optimizer.paramGroups.length) {
      throw new Error(`${owner}: the state has ${Array.isArray(sd.baseLrs) ? sd.baseLrs.length : 'no'} base lrs, the optimizer has ${this.optimizer.paramGroups.length} groups`);
    }
    sd.baseLrs.forEach((b, i) => checkHyper(owner, `baseLrs[${i}]`, b, { type: 'number', min: 0 }));
  }
}

function positiveInt(owner: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`${owner}: ${key} must be an integer > 0, got ${String(v)}`);
  return v;
}

/**
 * η_t = ηmin + (η0 − ηmin)·(1 + cos(π·t/TMax))/2 (PyTorch's closed form; periodic beyond TMax).
 * Per epoch as the reference: TMax = epochs, step() after each epoch.
 *
 * @example
 *   const sched = new optim.lr_scheduler.CosineAnnealingLR(opt, { TMax: 200 });
 */
export class CosineAnnealingLR extends LRScheduler {
  constructor(optimizer: HasParamGroups, opts: { TMax: number; etaMin?: number }) {
    checkKeys('CosineAnnealingLR', opts ?? {}, ['TMax', 'etaMin']);
    const TMax = positiveInt('CosineAnnealingLR', 'TMax', opts?.TMax);
    const etaMin = opts.etaMin ?? 0;
    checkHyper('CosineAnnealingLR', 'etaMin', etaMin, { type: 'number', min: 0 });
    super(optimizer, 'CosineAnnealingLR', { TMax, etaMin });
  }
  lrAt(t: number, base: number): number {
    const { TMax, etaMin } = this.config as { TMax: number; etaMin: number };
    return etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * t) / TMax))) / 2;
  }
}

/** η_t = η0·γ^⌊t/stepSize⌋. */
export class StepLR extends LRScheduler {
  constructor(optimizer: HasParamGroups, opts: { stepSize: number; gamma?: number }) {
    checkKeys('StepLR', opts ?? {}, ['stepSize', 'gamma']);
    const stepSize = positiveInt('StepLR', 'stepSize', opts?.stepSize);
    const gamma = opts.gamma ?? 0.1;
    checkHyper('StepLR', 'gamma', gamma, { type: 'number', min: 0 });
    super(optimizer, 'StepLR', { stepSize, gamma });
  }
  lrAt(t: number, base: number): number {
    const { stepSize, gamma } = this.config as { stepSize: number; gamma: number };
    return base * gamma ** Math.floor(t / stepSize);
  }
}

/** η_t = η0·γ^(number of milestones ≤ t). */
export class MultiStepLR extends LRScheduler {
  constructor(optimizer: HasParamGroups, opts: { milestones: number[]; gamma?: number }) {
    checkKeys('MultiStepLR', opts ?? {}, ['milestones', 'gamma']);
    const ms = opts?.milestones;
    if (!Array.isArray(ms) || ms.length === 0) throw new Error(`MultiStepLR: milestones must be a non-empty array of integers, got ${String(ms)}`);
    ms.forEach((m, i) => {
      positiveInt('MultiStepLR', `milestones[${i}]`, m);
      if (i > 0 && m <= ms[i - 1]) throw new Error(`MultiStepLR: milestones must increase, got ${JSON.stringify(ms)}`);
    });
    const gamma = opts.gamma ?? 0.1;
    checkHyper('MultiStepLR', 'gamma', gamma, { type: 'number', min: 0 });
    super(optimizer, 'MultiStepLR', { milestones: [...ms], gamma });
  }
  lrAt(t: number, base: number): number {
    const { milestones, gamma } = this.config as { milestones: number[]; gamma: number };
    return base * gamma ** milestones.filter((m) => m <= t).length;
  }
}

/** η_t = η0·(start + (end − start)·min(t, totalIters)/totalIters): a linear ramp (warm-up). */
export class LinearLR extends LRScheduler {
  constructor(optimizer: HasParamGroups, opts: { startFactor?: number; endFactor?: number; totalIters?: number } = {}) {
    checkKeys('LinearLR', opts, ['startFactor', 'endFactor', 'totalIters']);
    const startFactor = opts.startFactor ?? 1 / 3;
    const endFactor = opts.endFactor ?? 1;
    checkHyper('LinearLR', 'startFactor', startFactor, { type: 'number', min: 0, max: 1, minOpen: true });
    checkHyper('LinearLR', 'endFactor', endFactor, { type: 'number', min: 0, max: 1 });
    const totalIters = positiveInt('LinearLR', 'totalIters', opts.totalIters ?? 5);
    super(optimizer, 'LinearLR', { startFactor, endFactor, totalIters });
  }
  lrAt(t: number, base: number): number {
    const { startFactor, endFactor, totalIters } = this.config as { startFactor: number; endFactor: number; totalIters: number };
    return base * (startFactor + ((endFactor - startFactor) * Math.min(t, totalIters)) / totalIters);
  }
}

/**
 * Runs `schedulers[i]` from `milestones[i−1]` on, each from its own t = 0 (PyTorch's SequentialLR):
 * lr(t) = schedulers[k].lrAt(t − milestones[k−1]) with k the number of milestones ≤ t.
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  constructor(optimizer: HasParamGroups, opts: { schedulers: LRScheduler[]; milestones: number[] }) {
    checkKeys('SequentialLR', opts ?? {}, ['schedulers', 'milestones']);
    const { schedulers, milestones } = opts;
    if (!Array.isArray(schedulers) || schedulers.length < 2) throw new Error('SequentialLR: schedulers must be an array of at least two schedulers');
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      throw new Error(`SequentialLR: expected ${schedulers.length - 1} milestones for ${schedulers.length} schedulers, got ${JSON.stringify(milestones)}`);
    }
    milestones.forEach((m, i) => {
      positiveInt('SequentialLR', `milestones[${i}]`, m);
      if (i > 0 && m <= milestones[i - 1]) throw new Error(`SequentialLR: milestones must increase, got ${JSON.stringify(milestones)}`);
    });
    for (const s of schedulers) {
      if (!(s instanceof LRScheduler)) throw new Error('SequentialLR: every entry of schedulers must be a scheduler');
      if (s.optimizer !== optimizer) throw new Error(`SequentialLR: the ${s.type} drives another optimizer`);
    }
    super(optimizer, 'SequentialLR', { milestones: [...milestones] }, false);
    this.schedulers = [...schedulers];
    this.apply();
  }
  lrAt(t: number, base: number): number {
    const ms = this.config.milestones as number[];
    const k = ms.filter((m) => m <= t).length;
    return this.schedulers[k].lrAt(k === 0 ? t : t - ms[k - 1], base);
  }
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), children: this.schedulers.map((s) => s.stateDict()) };
  }
  override loadStateDict(sd: SchedulerStateDict): void {
    this.checkState(sd, 'SequentialLR.loadStateDict');
    if (!Array.isArray(sd.children) || sd.children.length !== this.schedulers.length) {
      throw new Error(`SequentialLR.loadStateDict: the state has ${sd.children?.length ?? 'no'} child schedulers, this one has ${this.schedulers.length}`);
    }
    // Children only contribute their closed forms here; their configs must match.
    sd.children.forEach((c, i) => this.schedulers[i]['checkState'](c, `SequentialLR.loadStateDict child ${i}`));
    super.loadStateDict(sd);
  }
}

/**
 * Linear warm-up from `startFactor`·lr to lr over `warmup` steps, then `after` from its own t = 0:
 * SequentialLR([LinearLR(startFactor → 1, warmup), after], [warmup]). Both count in the same unit.
 *
 * @example
 *   const sched = optim.lr_scheduler.linearWarmup(opt, new optim.lr_scheduler.CosineAnnealingLR(opt, { TMax: 95 }), { warmup: 5 });
 */
export function linearWarmup(optimizer: HasParamGroups, after: LRScheduler, opts: { warmup: number; startFactor?: number }): SequentialLR {
  checkKeys('linearWarmup', opts ?? {}, ['warmup', 'startFactor']);
  const warmup = positiveInt('linearWarmup', 'warmup', opts?.warmup);
  const ramp = new LinearLR(optimizer, { startFactor: opts.startFactor ?? 0.01, endFactor: 1, totalIters: warmup });
  return new SequentialLR(optimizer, { schedulers: [ramp, after], milestones: [warmup] });
}
