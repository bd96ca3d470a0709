// Adam and AdamW with torch.optim.Adam / torch.optim.AdamW semantics (amsgrad, maximize, foreach and
// fused variants not handled). Per parameter, t = this parameter's step count (from 1):
//   Adam:  g ← g + λ·w                                  (coupled L2)
//   AdamW: w ← w·(1 − lr·λ)                             (decoupled, before the moments)
//   m ← m + (1 − β1)·(g − m);   v ← β2·v + (1 − β2)·g²
//   w ← w − lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps)
// The scalars (step size, bias corrections, decay factor) are computed on the host in float64, as
// PyTorch computes them in Python, and passed to one fused `optim_adam_step` dispatch per parameter.

import type { Tensor } from '../tensor.js';
import { dispatch } from '../ops/op.js';
import { optim_adam_step } from '../ops/optim.js';
import { checkHyper, checkKeys, Optimizer, type Closure, type ParamsInput, type Rule } from './optimizer.js';

export type AdamHyper = {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
};

export interface AdamOptions extends Partial<AdamHyper> {
  /** Report a non-finite loss or gradient as an error (default true). */
  checkFinite?: boolean;
}

export const adamRules: { [K in keyof AdamHyper]: Rule } = {
  lr: { type: 'number', min: 0 },
  betas: { type: 'betas' },
  eps: { type: 'number', min: 0 },
  weightDecay: { type: 'number', min: 0 },
};

export const ADAM_DEFAULTS: AdamHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 };
export const ADAMW_DEFAULTS: AdamHyper = { ...ADAM_DEFAULTS, weightDecay: 1e-2 };

/** Where the Adam update reads from (see SgdUpdateInputs). */
export interface AdamUpdateInputs {
  g: Tensor;
  wsave: Tensor | null;
  norms: Tensor;
  guardIdx: number;
  guard2Idx: number;
}

/** @internal One fused Adam/AdamW update of `p`; state 'expAvg', 'expAvgSq' (zeros at first) and 'step'. */
export function adamUpdate(opt: Optimizer<AdamHyper>, p: Tensor, group: AdamHyper, decoupled: boolean, i: AdamUpdateInputs): void {
  const st = opt.stateOf(p);
  const t = ((st.step as number | undefined) ?? 0) + 1;
  st.step = t;
  const m = opt.stateTensor(p, 'expAvg', true).t;
  const v = opt.stateTensor(p, 'expAvgSq', true).t;
  const [beta1, beta2] = group.betas;
  const bc1 = 1 - beta1 ** t;
  const bc2 = 1 - beta2 ** t;
  dispatch(
    optim_adam_step,
    {
      n: p.size, stepSize: group.lr / bc1, oneMinusBeta1: 1 - beta1, beta2, oneMinusBeta2: 1 - beta2, bc2Sqrt: Math.sqrt(bc2),
      eps: group.eps, weightDecay: group.weightDecay, decay: 1 - group.lr * group.weightDecay,
      guardIdx: i.guardIdx, guard2Idx: i.guard2Idx, decoupled: decoupled ? 1 : 0, restore: i.wsave ? 1 : 0,
    },
    [i.g, i.wsave ?? i.g, i.norms],
    [p, m, v],
  );
}

abstract class AdamBase extends Optimizer<AdamHyper> {
  protected constructor(name: 'Adam' | 'AdamW', params: ParamsInput<AdamHyper>, options: AdamOptions, defaults: AdamHyper, private readonly decoupled: boolean) {
    checkKeys(name, options, [...Object.keys(adamRules), 'checkFinite']);
    const { checkFinite, ...hyper } = options;
    super(name, params, { ...defaults, ...hyper }, adamRules);
    if (checkFinite !== undefined) checkHyper(name, 'checkFinite', checkFinite, { type: 'boolean' });
    this.checkFiniteEnabled = checkFinite ?? true;
  }

  /**
   * One step; with a closure it runs it and releases the gradients, as SGD.step. A non-finite loss or
   * gradient skips the update (weights and moments unchanged) and is reported, as SGD.step.
   */
  async step(closure?: Closure): Promise<Tensor | null> {
    return this.onePassStep(closure, false, (active, loss) => {
      const s = this.scratch();
      this.gradientGuard(active, loss, 0); // norms[0] = ‖g‖, or −1 when it or the loss is not finite
      for (const p of active) {
        adamUpdate(this, p, this.hyperOf(p), this.decoupled, { g: p.grad!, wsave: null, norms: s.norms, guardIdx: 0, guard2Idx: 0 });
      }
    });
  }

  protected stateKeys() {
    return { tensors: ['expAvg', 'expAvgSq'], numbers: ['step'] };
  }
}

/**
 * Adam (Kingma & Ba) with coupled L2 weight decay, as torch.optim.Adam.
 *
 * @example
 *   const opt = new optim.Adam(model.parameters(), { lr: 1e-3, betas: [0.9, 0.999] });
 */
export class Adam extends AdamBase {
  constructor(params: ParamsInput<AdamHyper>, options: AdamOptions = {}) {
    super('Adam', params, options, ADAM_DEFAULTS, false);
  }
}

/**
 * AdamW (Loshchilov & Hutter): decoupled weight decay, as torch.optim.AdamW (default λ = 1e-2).
 *
 * @example
 *   const opt = new optim.AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
 */
export class AdamW extends AdamBase {
  constructor(params: ParamsInput<AdamHyper>, options: AdamOptions = {}) {
    super('AdamW', params, options, ADAMW_DEFAULTS, true);
  }
}
