// SGD with momentum, dampening, Nesterov and coupled weight decay, exactly as torch.optim.SGD
// (torch ≥ 1.8, foreach/fused off), and the fused momentum-SGD update that UGD, PUGD and SAM reuse.
//
// Per parameter, with g its gradient:
//   d = g + λ·w
//   momentum μ ≠ 0: buf = d on the first step, else μ·buf + (1 − δ)·d;  step = nesterov ? d + μ·buf : buf
//   μ = 0: step = d (no state)
//   w ← w − lr·step
// One `optim_sgd_step` dispatch per parameter (engine/ops/optim.ts), preceded by the non-finite guard:
// one `optim_sumsq` per parameter and one `optim_norm_finish` (the gradient norm and the loss; no
// readback), so a NaN/Inf gradient skips the update with or without a closure.
//
// Not handled: maximize, foreach/fused variants (same maths), sparse gradients.

import type { Tensor } from '../tensor.js';
import { dispatch } from '../ops/op.js';
import { optim_sgd_step } from '../ops/optim.js';
import { checkKeys, checkHyper, Optimizer, type Closure, type ParamGroup, type ParamsInput, type Rule } from './optimizer.js';

/** Group hyper-parameters of momentum SGD (also PUGD's, UGD's and SAM-over-SGD's). */
export type SGDHyper = {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
};

export interface SGDOptions extends Partial<SGDHyper> {
  /** Report a non-finite loss or gradient norm as an error (default true; see Optimizer). */
  checkFinite?: boolean;
}

export const sgdRules: { [K in keyof SGDHyper]: Rule } = {
  lr: { type: 'number', min: 0 },
  momentum: { type: 'number', min: 0, max: 1, maxOpen: true },
  dampening: { type: 'number', min: 0, max: 1 },
  weightDecay: { type: 'number', min: 0 },
  nesterov: { type: 'boolean' },
};

/** PyTorch's SGD defaults (lr 1e-3 as in torch ≥ 2.2). */
export const SGD_DEFAULTS: SGDHyper = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };

/** Validates SGD hyper-parameters, including PyTorch's rule that Nesterov needs momentum and no dampening. */
export function checkSgdGroup(g: ParamGroup<SGDHyper>, where: string): void {
  for (const [k, rule] of Object.entries(sgdRules) as [keyof SGDHyper, Rule][]) checkHyper(where, k, g[k], rule);
  if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
    throw new Error(`${where}: nesterov requires momentum > 0 and dampening 0 (got momentum ${g.momentum}, dampening ${g.dampening})`);
  }
}

/** Where the fused momentum-SGD update reads from. */
export interface SgdUpdateInputs {
  /** PUGD's clean gradient g1, added to g2 (null: the update uses g2 alone). */
  g1: Tensor | null;
  /** The gradient (g2 for the two-pass optimizers). */
  g2: Tensor;
  /** The exact copy of w to restore from (null: update w in place). */
  wsave: Tensor | null;
  /** The norms buffer holding the normaliser and the guards. */
  norms: Tensor;
  /** norms[normIdx]: the normaliser when `normalize`; always a guard. */
  normIdx: number;
  /** norms[guardIdx]: a guard (< 0: skip the update). */
  guardIdx: number;
  /** Divide the gradient by norms[normIdx] + eps (UGD, PUGD). */
  normalize: boolean;
  eps: number;
}

/**
 * @internal One fused momentum-SGD update of `p` with `group`'s hyper-parameters; the momentum
 * buffer is `opt`'s state 'momentumBuffer' (created on the first step, when the kernel writes buf = d).
 */
export function sgdUpdate(opt: Optimizer<SGDHyper>, p: Tensor, group: SGDHyper, i: SgdUpdateInputs): void {
  const hasMomentum = group.momentum !== 0;
  let buf = opt.sink();
  let first = 0;
  if (hasMomentum) {
    const r = opt.stateTensor(p, 'momentumBuffer');
    buf = r.t;
    first = r.created ? 1 : 0;
  }
  dispatch(
    optim_sgd_step,
    {
      n: p.size, lr: group.lr, momentum: group.momentum, oneMinusDampening: 1 - group.dampening, weightDecay: group.weightDecay, eps: i.eps,
      normIdx: i.normIdx, guardIdx: i.guardIdx, first,
      sumGrads: i.g1 ? 1 : 0, normalize: i.normalize ? 1 : 0, restore: i.wsave ? 1 : 0, nesterov: group.nesterov ? 1 : 0, hasMomentum: hasMomentum ? 1 : 0,
    },
    [i.g1 ?? i.g2, i.g2, i.wsave ?? i.g2, i.norms],
    [p, buf],
  );
}

/**
 * Stochastic gradient descent with PyTorch's semantics.
 *
 * @example
 *   const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
 *   const loss = await opt.step(() => { opt.zeroGrad(); const l = lossFn(); l.backward(); return l; });
 */
export class SGD extends Optimizer<SGDHyper> {
  constructor(params: ParamsInput<SGDHyper>, options: SGDOptions = {}) {
    checkKeys('SGD', options, [...Object.keys(sgdRules), 'checkFinite']);
    const { checkFinite, ...hyper } = options;
    super('SGD', params, { ...SGD_DEFAULTS, ...hyper }, sgdRules);
    if (checkFinite !== undefined) checkHyper('SGD', 'checkFinite', checkFinite, { type: 'boolean' });
    this.checkFiniteEnabled = checkFinite ?? true;
  }

  protected override checkGroup(g: ParamGroup<SGDHyper>, where: string): void {
    checkSgdGroup(g, where);
  }

  /**
   * One step. With a closure: runs it (gradients at w), updates, releases the gradients and returns
   * the loss. Without: updates from the gradients already in `.grad` and returns null. Either way a
   * non-finite loss or gradient skips the whole update (weights and momentum stay as they were) and is
   * reported: this step rejects on wasm; on webgpu a later step or `checkFinite()` does.
   */
  async step(closure?: Closure): Promise<Tensor | null> {
    return this.onePassStep(closure, false, (active, loss) => {
      const s = this.scratch();
      this.gradientGuard(active, loss, 0); // norms[0] = ‖g‖, or −1 when it or the loss is not finite
      for (const p of active) {
        sgdUpdate(this, p, this.hyperOf(p), { g1: null, g2: p.grad!, wsave: null, norms: s.norms, normIdx: 0, guardIdx: 0, normalize: false, eps: 0 });
      }
    });
  }

  protected stateKeys() {
    return { tensors: ['momentumBuffer'], numbers: [] };
  }
}
