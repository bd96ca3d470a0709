// UGD, unit gradient descent: the one-pass method PUGD's reference file also ships (`xp_step`,
// pugd.py 29–43; SPEC §2 "UGD"): u = g/(‖g‖ + 1e-12) with one global norm, then momentum SGD with
// coupled weight decay (PyTorch semantics). Device work per step, K tensors: K sum-of-squares
// kernels, one fixed-order finish, K fused updates; no readback.

import type { Tensor } from '../tensor.js';
import { checkHyper, checkKeys, EPS, Optimizer, type Closure, type ParamGroup, type ParamsInput } from './optimizer.js';
import { checkSgdGroup, sgdRules, sgdUpdate, type SGDHyper } from './sgd.js';
import { PUGD_DEFAULTS } from './pugd.js';

export interface UGDOptions extends Partial<SGDHyper> {
  /** Report a non-finite loss or norm as an error (default true). */
  checkFinite?: boolean;
}

/**
 * Unit gradient descent: normalised gradient (one global norm), then momentum SGD. Defaults as PUGD's
 * (lr 0.1, momentum 0.9, weight decay 5e-4), the recipe the reference file was written for.
 *
 * @example
 *   const opt = new optim.UGD(model.parameters(), { lr: 0.1 });
 */
export class UGD extends Optimizer<SGDHyper> {
  constructor(params: ParamsInput<SGDHyper>, options: UGDOptions = {}) {
    checkKeys('UGD', options, [...Object.keys(sgdRules), 'checkFinite']);
    const { checkFinite, ...hyper } = options;
    super('UGD', params, { ...PUGD_DEFAULTS, ...hyper }, sgdRules);
    this.checkFiniteEnabled = checkFinite ?? true;
    checkHyper('UGD', 'checkFinite', this.checkFiniteEnabled, { type: 'boolean' });
  }

  protected override checkGroup(g: ParamGroup<SGDHyper>, where: string): void {
    checkSgdGroup(g, where);
  }

  /** One step: closure at w, u = g/(‖g‖ + 1e-12), momentum SGD on u. Resolves to the loss. */
  async step(closure: Closure): Promise<Tensor> {
    const loss = await this.onePassStep(closure, true, (active, l) => {
      const s = this.scratch();
      this.gradientGuard(active, l, 1); // norms[1] = ‖g‖ (−1 if the loss or a gradient is not finite)
      for (const p of active) {
        sgdUpdate(this, p, this.hyperOf(p), { g1: null, g2: p.grad!, wsave: null, norms: s.norms, normIdx: 1, guardIdx: 1, normalize: true, eps: EPS });
      }
    });
    return loss as Tensor;
  }

  protected stateKeys() {
    return { tensors: ['momentumBuffer'], numbers: [] };
  }
}
