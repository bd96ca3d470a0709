// PUGD, Perturbated Unit Gradient Descent (Tseng et al., arXiv 2110.00199), with the reference
// semantics of ../shared/pugd/SPEC.md §1.2 (the repository's pugd.py over torch.optim.SGD). The
// section numbers below are SPEC sections; docs/pugd.md maps every step to these lines and to the
// WGSL and AssemblyScript kernels, and lists each deviation from the reference code with its reason.
//
// One step, for parameters W = {w_k} (those with a gradient after pass 1), batch fixed by the closure:
//   pass 1     g1 = ∇L(w)                                        (closure at w)
//   §1.2.2     a = ‖ |w| ⊙ g1 ‖  (one global norm)   ε = radius · |w| ⊙ g1 / (a + 1e-12)
//              wsave = w (exact copy),  w ← w + ε
//   pass 2     g2 = ∇L(w + ε)                                    (closure at w+ε, same batch)
//   §1.2.4     s = g1 + g2,  n = ‖s‖ (global),  u = s / (n + 1e-12),  w ← wsave (exact restore)
//   §1.2.5     momentum SGD on u with coupled weight decay (PyTorch semantics)
//   §1.2.6     gradients released (zero_grad)
// Device work per step, K tensors: K + 1 + K kernels for ε, K + 1 + K for the update; nothing is
// read back. Memory: w, g1, g2, wsave (freed after the step) and the momentum buffer.
//
// Options beyond the reference, each off by default: `gradient: 'perturbed'` (u from g2 alone, SAM
// style), `normalization: 'tensor'` (per-tensor norms: the negative control of SPEC TV3),
// `bnStatsOnPerturbedPass: false` (no BatchNorm running-stat update during pass 2), `radius` ≠ 1.
// Dropout masks: pass 2 reuses pass 1's (a deviation, docs/pugd.md §5 no. 13); with
// `randomnessOnPerturbedPass: 'fresh'` it draws new ones, as the reference's torch RNG would.

import { empty, keep, type Tensor } from '../tensor.js';
import { dispatch } from '../ops/op.js';
import { optim_perturb, optim_sumsq, optim_sumsq_add, optim_sumsq_wg } from '../ops/optim.js';
import { checkHyper, checkKeys, checkRandomness, EPS, Optimizer, type Closure, type ParamGroup, type ParamsInput, type PassRandomness } from './optimizer.js';
import { checkSgdGroup, sgdRules, sgdUpdate, type SGDHyper } from './sgd.js';

export interface PUGDOptions extends Partial<SGDHyper> {
  /** ‖ε‖ (SPEC §4.3: the reference's radius is 1). Default 1. */
  radius?: number;
  /** Update BatchNorm running statistics during the perturbed pass too, as the reference (default true). */
  bnStatsOnPerturbedPass?: boolean;
  /** Random ops (dropout) in pass 2: 'reuse' pass 1's masks (default) or draw 'fresh' ones. */
  randomnessOnPerturbedPass?: PassRandomness;
  /** 'sum': u from g1 + g2 (reference, default); 'perturbed': u from g2 alone (SAM-style variant). */
  gradient?: 'sum' | 'perturbed';
  /** 'global': one norm over all parameters (reference, default); 'tensor': one norm per tensor. */
  normalization?: 'global' | 'tensor';
  /** Report a non-finite loss or norm as an error (default true). */
  checkFinite?: boolean;
}

/** The reference recipe (SPEC §1.4: main.py 24–26; dampening and nesterov are torch's defaults). */
export const PUGD_DEFAULTS: SGDHyper = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, dampening: 0, nesterov: false };

/**
 * PUGD over momentum SGD. `step(closure)` evaluates the closure twice (at w and at w+ε) on the same
 * batch and returns the clean loss (the one at w).
 *
 * @example
 *   const opt = new optim.PUGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
 *   const loss = await opt.step(() => {
 *     opt.zeroGrad();
 *     const l = nn.functional.crossEntropy(model.forward(x), y);
 *     l.backward();
 *     return l;
 *   });
 */
export class PUGD extends Optimizer<SGDHyper> {
  readonly radius: number;
  readonly bnStatsOnPerturbedPass: boolean;
  readonly randomnessOnPerturbedPass: PassRandomness;
  readonly gradient: 'sum' | 'perturbed';
  readonly normalization: 'global' | 'tensor';

  constructor(params: ParamsInput<SGDHyper>, options: PUGDOptions = {}) {
    const globals = ['radius', 'bnStatsOnPerturbedPass', 'randomnessOnPerturbedPass', 'gradient', 'normalization', 'checkFinite'] as const;
    checkKeys('PUGD', options, [...Object.keys(sgdRules), ...globals]);
    const { radius, bnStatsOnPerturbedPass, randomnessOnPerturbedPass, gradient, normalization, checkFinite, ...hyper } = options;
    super('PUGD', params, { ...PUGD_DEFAULTS, ...hyper }, sgdRules);
    this.radius = radius ?? 1;
    checkHyper('PUGD', 'radius', this.radius, { type: 'number', min: 0, minOpen: true });
    this.bnStatsOnPerturbedPass = bnStatsOnPerturbedPass ?? true;
    checkHyper('PUGD', 'bnStatsOnPerturbedPass', this.bnStatsOnPerturbedPass, { type: 'boolean' });
    this.randomnessOnPerturbedPass = checkRandomness('PUGD', randomnessOnPerturbedPass);
    this.gradient = gradient ?? 'sum';
    if (this.gradient !== 'sum' && this.gradient !== 'perturbed') throw new Error(`PUGD: gradient must be 'sum' or 'perturbed', got ${String(gradient)}`);
    this.normalization = normalization ?? 'global';
    if (this.normalization !== 'global' && this.normalization !== 'tensor') {
      throw new Error(`PUGD: normalization must be 'global' or 'tensor', got ${String(normalization)}`);
    }
    this.checkFiniteEnabled = checkFinite ?? true;
    checkHyper('PUGD', 'checkFinite', this.checkFiniteEnabled, { type: 'boolean' });
  }

  protected override checkGroup(g: ParamGroup<SGDHyper>, where: string): void {
    checkSgdGroup(g, where);
  }

  /** norms[] index of a (the perturbation norm) and n (the update norm) for parameter `p`. */
  private normIdx(p: Tensor): { a: number; n: number } {
    if (this.normalization === 'global') return { a: 0, n: 1 };
    const k = this.indexOf.get(p)!;
    return { a: 2 + 2 * k, n: 3 + 2 * k };
  }

  /** One PUGD step (SPEC §1.2). Resolves to the loss at w (pass 1). */
  async step(closure: Closure): Promise<Tensor> {
    if (typeof closure !== 'function') {
      throw new Error(`PUGD.step: a closure is required (PUGD evaluates the loss twice, at w and at w+ε, on the same batch); got ${typeof closure}`);
    }
    this.beginStep();
    const g1 = new Map<Tensor, Tensor>();
    const g2 = new Map<Tensor, Tensor>();
    const wsave = new Map<Tensor, Tensor>();
    let lossPerturbed: Tensor | null = null;
    let loss: Tensor | null = null;
    try {
      const s = this.scratch();
      // §1.2.1 Pass 1 at w: g1 = ∇L(w). The closure zeroes the gradients itself.
      loss = await this.runFirstPass(closure);
      // §1.1: only parameters with a gradient take part, in both norms and in the update.
      const active = this.withGrad('pass 1, at w');
      // g1 moves into the optimizer's hands (no copy) and `.grad` becomes null, so the closure's
      // zeroGrad at w+ε cannot drop it and pass 2 leaves g2 alone in `.grad` (docs/pugd.md, "g1").
      for (const p of active) g1.set(p, this.takeGrad(p));
      const L = this.layout(active);

      // §1.2.2 a = ‖|w| ⊙ g1‖, one norm over every tensor (pugd.py 48, 87–97): per-tensor chunk
      // sums, then one fixed-order finish into norms[a] (−1 if it or the pass-1 loss is not finite).
      active.forEach((p, k) => dispatch(optim_sumsq_wg, { n: p.size, slot: L.offsets[k], eta: 0 }, [p, g1.get(p)!], [s.partials!]));
      if (this.normalization === 'global') this.finish(loss, 0, L.total, 0);
      else active.forEach((p, k) => this.finish(loss, L.offsets[k], L.counts[k], this.normIdx(p).a));

      // §1.2.2 ε = radius·|w| ⊙ g1/(a + 1e-12) (pugd.py 54); wsave = w; w ← w + ε (pugd.py 55).
      // Zero weights get ε = 0 (SPEC §1.4). wsave is the exact copy the update restores from.
      for (const p of active) {
        const w0 = keep(empty(p.shape, 'f32', 'PUGD wsave', p.backend));
        dispatch(optim_perturb, { n: p.size, radius: this.radius, eta: 0, eps: EPS, normIdx: this.normIdx(p).a, power: 1 }, [g1.get(p)!, s.norms], [p, w0]);
        wsave.set(p, w0);
      }

      // §1.2.3 Pass 2 at w + ε, same batch (and by default the same dropout masks): g2 = ∇L(w + ε).
      lossPerturbed = await this.runPerturbedPass(closure, this.bnStatsOnPerturbedPass, this.randomnessOnPerturbedPass);
      // g2 is taken like g1; a parameter without a gradient at w+ε contributes g2 = 0.
      for (const [p, g] of this.takePerturbedGrads(active, g1)) g2.set(p, g);

      // §1.2.4 n = ‖g1 + g2‖ (global; pugd.py 60, 75–85), −1 if it or the pass-2 loss is not finite.
      // The 'perturbed' variant normalises g2 alone.
      active.forEach((p, k) => {
        if (this.gradient === 'sum') dispatch(optim_sumsq_add, { n: p.size, slot: L.offsets[k] }, [g1.get(p)!, g2.get(p)!], [s.partials!]);
        else dispatch(optim_sumsq, { n: p.size, slot: L.offsets[k] }, [g2.get(p)!], [s.partials!]);
      });
      if (this.normalization === 'global') this.finish(lossPerturbed, 0, L.total, 1);
      else active.forEach((p, k) => this.finish(lossPerturbed, L.offsets[k], L.counts[k], this.normIdx(p).n));

      // §1.2.4–5 in one kernel per tensor: w ← wsave (exact restore, not w − ε), u = s/(n + 1e-12),
      // d = u + λ·w, buf = μ·buf + (1 − δ)·d (buf = d on the first step), w ← w − lr·(nesterov ?
      // d + μ·buf : buf). Skipped (weights restored) when a or n is −1 (a non-finite step).
      for (const p of active) {
        const idx = this.normIdx(p);
        sgdUpdate(this, p, this.hyperOf(p), {
          g1: this.gradient === 'sum' ? g1.get(p)! : null, g2: g2.get(p)!, wsave: wsave.get(p)!,
          norms: s.norms, normIdx: idx.n, guardIdx: idx.a, normalize: true, eps: EPS,
        });
      }
      wsave.forEach((w0) => w0.dispose());
      wsave.clear();
    } catch (e) {
      // A failing pass 2 must not leave the model at w + ε: restore every perturbed tensor exactly.
      for (const [p, w0] of wsave) p.assign(w0);
      loss?.dispose();
      throw e;
    } finally {
      this.stepDone();
      // §1.2.6 zero_grad (pugd.py 71): gradients and per-step buffers are released.
      for (const m of [g1, g2, wsave]) for (const t of m.values()) t.dispose();
      lossPerturbed?.dispose();
      this.releaseGrads();
    }
    return this.endStep(loss) as Tensor;
  }

  protected override describeNorm(idx: number): { pass: string; norm: string } {
    const isA = idx === 0 || (idx >= 2 && idx % 2 === 0);
    return isA
      ? { pass: 'the closure in pass 1 (at w)', norm: 'the perturbation norm ‖|w|⊙g1‖' }
      : { pass: 'the closure in pass 2 (at w+ε)', norm: this.gradient === 'sum' ? 'the update norm ‖g1+g2‖' : 'the update norm ‖g2‖' };
  }

  protected stateKeys() {
    return { tensors: ['momentumBuffer'], numbers: [] };
  }
}
