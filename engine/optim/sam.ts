// SAM (Foret et al., davda54/sam `sam.py`) and ASAM (Kwon et al., SamsungLabs/ASAM `asam.py`) over a
// base optimizer (SGD by default, or Adam/AdamW), SPEC §2:
//   pass 1     g = ∇L(w)
//   SAM        ε = ρ · g / (‖g‖ + 1e-12)
//   ASAM       ε = ρ · T² ⊙ g / (‖T ⊙ g‖ + 1e-16),  T = |w| + η   (adaptive: true)
//              wsave = w (exact copy), w ← w + ε                   (one global norm, as the references)
//   pass 2     g2 = ∇L(w + ε)
//   update     w ← wsave, then the base optimizer's update with g2 (raw, not normalised), fused
//              into the base kernel (its `restore` flag)
// Deviations: ASAM's reference scales only tensors whose name contains "weight" and leaves the others
// with T = 1; here T applies to every parameter (davda54's adaptive variant does the same, with
// η = 0). Restore is by copy, as davda54's later "numerical stability" fix, not by subtraction.

import { empty, keep, type Tensor } from '../tensor.js';
import { dispatch } from '../ops/op.js';
import { optim_perturb, optim_sumsq, optim_sumsq_wg } from '../ops/optim.js';
import { checkHyper, checkKeys, checkRandomness, EPS, Optimizer, type Closure, type Hyper, type ParamGroup, type ParamsInput, type PassRandomness, type Rule } from './optimizer.js';
import { checkSgdGroup, SGD, SGD_DEFAULTS, sgdRules, sgdUpdate, type SGDHyper } from './sgd.js';
import { Adam, ADAM_DEFAULTS, adamRules, adamUpdate, AdamW, ADAMW_DEFAULTS, type AdamHyper } from './adam.js';

type BaseName = 'SGD' | 'Adam' | 'AdamW';

/** The base optimizer: a name (case-insensitive) or the class. */
export type SAMBase = 'sgd' | 'adam' | 'adamw' | 'SGD' | 'Adam' | 'AdamW' | typeof SGD | typeof Adam | typeof AdamW;

export interface SAMOptions extends Partial<SGDHyper>, Partial<Omit<AdamHyper, 'lr' | 'weightDecay'>> {
  /** Perturbation radius. Default 0.05 (ASAM's papers use larger values, e.g. 0.5–2). */
  rho?: number;
  /** ASAM: scale the ascent by T = |w| + η. Default false. */
  adaptive?: boolean;
  /** ASAM's η (only with adaptive: true). Default 0.01. */
  eta?: number;
  /** Base optimizer, SGD by default; the other options (lr, momentum, betas, ...) go to it. */
  base?: SAMBase;
  /** Update BatchNorm running statistics during the perturbed pass (default true: sam.py does). */
  bnStatsOnPerturbedPass?: boolean;
  /** Random ops (dropout) in the perturbed pass: 'reuse' the first pass's masks (default) or draw 'fresh' ones. */
  randomnessOnPerturbedPass?: PassRandomness;
  /** Report a non-finite loss or norm as an error (default true). */
  checkFinite?: boolean;
}

const ASAM_EPS = 1e-16; // asam.py adds 1e-16 to the norm; sam.py 1e-12

function baseName(b: SAMBase | undefined): BaseName {
  if (b === undefined || b === SGD) return 'SGD';
  if (b === Adam) return 'Adam';
  if (b === AdamW) return 'AdamW';
  if (typeof b === 'string') {
    const k = b.toLowerCase();
    if (k === 'sgd') return 'SGD';
    if (k === 'adam') return 'Adam';
    if (k === 'adamw') return 'AdamW';
  }
  throw new Error(`SAM: base must be 'sgd', 'adam', 'adamw' or one of optim.SGD, optim.Adam, optim.AdamW, got ${typeof b === 'function' ? b.name : String(b)}`);
}

const baseRules: Record<BaseName, Record<string, Rule>> = { SGD: sgdRules, Adam: adamRules, AdamW: adamRules };
const baseDefaults: Record<BaseName, Hyper> = { SGD: SGD_DEFAULTS, Adam: ADAM_DEFAULTS, AdamW: ADAMW_DEFAULTS };

/**
 * Sharpness-aware minimisation (and ASAM with `adaptive: true`) over SGD, Adam or AdamW.
 *
 * @example
 *   const opt = new optim.SAM(model.parameters(), { rho: 0.05, lr: 0.1, momentum: 0.9 });
 *   const asam = new optim.SAM(model.parameters(), { rho: 0.5, adaptive: true, base: 'adamw', lr: 1e-3 });
 */
export class SAM extends Optimizer<Hyper> {
  readonly rho: number;
  readonly adaptive: boolean;
  readonly eta: number;
  readonly base: BaseName;
  readonly bnStatsOnPerturbedPass: boolean;
  readonly randomnessOnPerturbedPass: PassRandomness;

  constructor(params: ParamsInput<Hyper>, options: SAMOptions = {}) {
    const base = baseName(options.base);
    const globals = ['rho', 'adaptive', 'eta', 'base', 'bnStatsOnPerturbedPass', 'randomnessOnPerturbedPass', 'checkFinite'];
    checkKeys(`SAM(${base})`, options, [...Object.keys(baseRules[base]), ...globals]);
    const { rho, adaptive, eta, base: _b, bnStatsOnPerturbedPass, randomnessOnPerturbedPass, checkFinite, ...hyper } = options;
    void _b;
    super(`SAM(${base})`, params, { ...baseDefaults[base], ...(hyper as Hyper) }, baseRules[base]);
    this.base = base;
    this.rho = rho ?? 0.05;
    checkHyper(this.name, 'rho', this.rho, { type: 'number', min: 0, minOpen: true });
    this.adaptive = adaptive ?? false;
    checkHyper(this.name, 'adaptive', this.adaptive, { type: 'boolean' });
    if (eta !== undefined && !this.adaptive) throw new Error(`${this.name}: eta applies only with adaptive: true (ASAM)`);
    this.eta = eta ?? 0.01;
    checkHyper(this.name, 'eta', this.eta, { type: 'number', min: 0 });
    this.bnStatsOnPerturbedPass = bnStatsOnPerturbedPass ?? true;
    checkHyper(this.name, 'bnStatsOnPerturbedPass', this.bnStatsOnPerturbedPass, { type: 'boolean' });
    this.randomnessOnPerturbedPass = checkRandomness(this.name, randomnessOnPerturbedPass);
    this.checkFiniteEnabled = checkFinite ?? true;
    checkHyper(this.name, 'checkFinite', this.checkFiniteEnabled, { type: 'boolean' });
  }

  protected override checkGroup(g: ParamGroup<Hyper>, where: string): void {
    if (this.rulesAreSgd()) checkSgdGroup(g as unknown as ParamGroup<SGDHyper>, where);
    else super.checkGroup(g, where);
  }

  private rulesAreSgd(): boolean {
    return this.rules === (sgdRules as unknown);
  }

  /** One SAM/ASAM step: closure at w, ascent to w+ε, closure at w+ε, restore, base update with g2. */
  async step(closure: Closure): Promise<Tensor> {
    if (typeof closure !== 'function') {
      throw new Error(`${this.name}.step: a closure is required (SAM evaluates the loss twice, at w and at w+ε); got ${typeof closure}`);
    }
    this.beginStep();
    const g1 = new Map<Tensor, Tensor>();
    const g2 = new Map<Tensor, Tensor>();
    const wsave = new Map<Tensor, Tensor>();
    let loss: Tensor | null = null;
    let lossPerturbed: Tensor | null = null;
    try {
      const s = this.scratch();
      loss = await this.runFirstPass(closure);
      const active = this.withGrad('pass 1, at w');
      for (const p of active) g1.set(p, this.takeGrad(p));
      const L = this.layout(active);
      // ‖g‖ (SAM) or ‖T ⊙ g‖ (ASAM), one global norm, into norms[0].
      active.forEach((p, k) => {
        if (this.adaptive) dispatch(optim_sumsq_wg, { n: p.size, slot: L.offsets[k], eta: this.eta }, [p, g1.get(p)!], [s.partials!]);
        else dispatch(optim_sumsq, { n: p.size, slot: L.offsets[k] }, [g1.get(p)!], [s.partials!]);
      });
      this.finish(loss, 0, L.total, 0);
      for (const p of active) {
        const w0 = keep(empty(p.shape, 'f32', `${this.name} wsave`, p.backend));
        dispatch(
          optim_perturb,
          { n: p.size, radius: this.rho, eta: this.adaptive ? this.eta : 0, eps: this.adaptive ? ASAM_EPS : EPS, normIdx: 0, power: this.adaptive ? 2 : 0 },
          [g1.get(p)!, s.norms],
          [p, w0],
        );
        wsave.set(p, w0);
      }
      lossPerturbed = await this.runPerturbedPass(closure, this.bnStatsOnPerturbedPass, this.randomnessOnPerturbedPass);
      for (const [p, g] of this.takePerturbedGrads(active, g1)) g2.set(p, g);
      this.finish(lossPerturbed, 0, 0, 1); // norms[1] = 0, or −1 if the pass-2 loss is not finite
      for (const p of active) {
        const group = this.hyperOf(p);
        if (this.base === 'SGD') {
          sgdUpdate(this as unknown as Optimizer<SGDHyper>, p, group as unknown as SGDHyper, {
            g1: null, g2: g2.get(p)!, wsave: wsave.get(p)!, norms: s.norms, normIdx: 1, guardIdx: 0, normalize: false, eps: 0,
          });
        } else {
          adamUpdate(this as unknown as Optimizer<AdamHyper>, p, group as unknown as AdamHyper, this.base === 'AdamW', {
            g: g2.get(p)!, wsave: wsave.get(p)!, norms: s.norms, guardIdx: 0, guard2Idx: 1,
          });
        }
      }
      wsave.forEach((w0) => w0.dispose());
      wsave.clear();
    } catch (e) {
      for (const [p, w0] of wsave) p.assign(w0);
      loss?.dispose();
      throw e;
    } finally {
      this.stepDone();
      for (const m of [g1, g2, wsave]) for (const t of m.values()) t.dispose();
      lossPerturbed?.dispose();
      this.releaseGrads();
    }
    return this.endStep(loss) as Tensor;
  }

  protected override describeNorm(idx: number): { pass: string; norm: string } {
    return idx === 0
      ? { pass: 'the closure in pass 1 (at w)', norm: this.adaptive ? 'the ascent norm ‖(|w|+η)⊙g‖' : 'the ascent norm ‖g‖' }
      : { pass: 'the closure in pass 2 (at w+ε)', norm: 'the perturbed-pass check' };
  }

  protected stateKeys() {
    return this.base === 'SGD' ? { tensors: ['momentumBuffer'], numbers: [] } : { tensors: ['expAvg', 'expAvgSq'], numbers: ['step'] };
  }
}
