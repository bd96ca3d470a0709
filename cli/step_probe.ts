// Per-step diagnostics for `pugd train --log-steps`: the norm of the weight update ‖Δw‖, the norm of
// the gradient at w ‖g‖ (the loss gradient of pass 1, without weight decay), and for the two-pass
// optimizers (PUGD, SAM, ASAM) the norm of the perturbation ‖ε‖ and the cosine between the gradients
// of the two passes, cos(g1, g2). These check the paper's "locally bounded updating" claim.
//
// How, without touching the optimizers: the probe snapshots w before the step, sees the gradients in
// the closure right after each backward (pass 1: g1; pass 2: g2, with the weights at w + ε), and
// compares w after the step with the snapshot. Everything is computed on the device as five sums,
// packed with the step's loss into one f32 [6] tensor:
//   [Σ(w_after − w_before)², Σ g1², Σ(w_pass2 − w_before)², Σ g1·g2, Σ g2², loss]
// which the loop reads instead of the loss alone (the same one readback per step), so the
// diagnostics add device work but no readback and no wait. The host takes square roots and the cosine in
// float64. Cost when on: one copy of the weights (and of g1 for two-pass optimizers) per step, and a
// few small kernels per parameter tensor.

import { Tensor, keep, tidy } from '../engine/tensor.js';
import { tensor } from '../engine/create.js';
import { noGrad } from '../engine/autograd.js';

/** What one step measured (null where it does not apply: ε and cos for one-pass optimizers). */
export interface StepStats {
  /** ‖w_after − w_before‖ over every parameter. */
  dw: number;
  /** ‖∇L(w)‖ of the first pass (the loss gradient, weight decay not included). */
  g: number;
  /** ‖ε‖ = ‖w at pass 2 − w‖ (PUGD, SAM), else null. */
  eps: number | null;
  /** cos(g1, g2) between the two passes' gradients (PUGD, SAM), else null. */
  cos: number | null;
}

/** The five sums and the loss. */
const SLOTS = 6;
const LOSS = 5;

/** The per-step probe; `twoPass` when the optimizer evaluates the closure at w and at w + ε. */
export class StepProbe {
  private before: Tensor[] | null = null;
  private g1: (Tensor | null)[] = [];
  private sums: (Tensor | null)[] = new Array<Tensor | null>(SLOTS).fill(null);
  private pass = 0;
  private basis: Tensor[] | null = null;

  constructor(private readonly params: readonly Tensor[], readonly twoPass: boolean) {}

  /** Before `optimizer.step`: snapshots the weights. */
  begin(): void {
    this.release();
    this.pass = 0;
    this.before = noGrad(() => this.params.map((p) => keep(p.clone())));
  }

  /** Inside the closure, right after `loss.backward()`: records what this pass's gradients show. */
  afterBackward(): void {
    if (!this.before) return;
    const pass = this.pass++;
    noGrad(() => {
      if (pass === 0) {
        this.set(1, this.total((p) => (p.grad ? p.grad.sumSquares() : null)));
        if (this.twoPass) this.g1 = this.params.map((p) => (p.grad ? keep(p.grad.clone()) : null));
      } else if (pass === 1) {
        this.set(2, this.total((p, i) => p.sub(this.before![i]).sumSquares()));
        this.set(3, this.total((p, i) => (p.grad && this.g1[i] ? p.grad.mul(this.g1[i]!).sum() : null)));
        this.set(4, this.total((p) => (p.grad ? p.grad.sumSquares() : null)));
      }
    });
  }

  /**
   * After the step: the five sums and `loss` (the step's one-element loss) as one kept f32 [6]
   * tensor (the caller reads it with `read` and disposes it), or null when `begin` was not called.
   * Releases the snapshot.
   */
  end(loss: Tensor): Tensor | null {
    if (!this.before) return null;
    const out = noGrad(() => {
      this.set(0, this.total((p, i) => p.sub(this.before![i]).sumSquares()));
      this.set(LOSS, keep(tidy(() => loss.reshape([1]).mul(1))));
      const basis = this.unitVectors();
      return keep(tidy(() => {
        let v: Tensor | null = null;
        this.sums.forEach((s, k) => {
          if (!s) return;
          const term = basis[k].mul(s);
          v = v ? v.add(term) : term;
        });
        return v ?? basis[0].mul(0);
      }));
    });
    this.release();
    return out;
  }

  /** Reads what `end()` returned (one readback): the loss, and the norms and cosine in float64. */
  async read(v: Tensor): Promise<{ loss: number; stats: StepStats }> {
    const a = await v.data();
    return { loss: a[LOSS], stats: this.decode(a) };
  }

  /** The norms and the cosine of what `end()` returned, read from the device. */
  decode(v: ArrayLike<number>): StepStats {
    const two = this.twoPass && this.pass >= 2;
    return StepProbe.decodeSums(v, two);
  }

  /** The StepStats of the five sums (see the file header); `twoPass` says whether slots 2–4 hold data. */
  static decodeSums(v: ArrayLike<number>, twoPass: boolean): StepStats {
    const g1 = Math.sqrt(v[1]);
    const g2 = Math.sqrt(v[4]);
    return {
      dw: Math.sqrt(v[0]),
      g: g1,
      eps: twoPass ? Math.sqrt(v[2]) : null,
      cos: twoPass ? (g1 > 0 && g2 > 0 ? v[3] / (g1 * g2) : 0) : null,
    };
  }

  /** Frees the snapshot and partial sums (after an error inside a step too). */
  release(): void {
    for (const t of this.before ?? []) t.dispose();
    for (const t of this.g1) t?.dispose();
    for (const t of this.sums) t?.dispose();
    this.before = null;
    this.g1 = [];
    this.sums = new Array<Tensor | null>(SLOTS).fill(null);
  }

  dispose(): void {
    this.release();
    for (const t of this.basis ?? []) t.dispose();
    this.basis = null;
  }

  private set(slot: number, t: Tensor | null): void {
    this.sums[slot]?.dispose();
    this.sums[slot] = t;
  }

  /** Σ over the parameters of a one-element term (null: the parameter takes no part); kept. */
  private total(term: (p: Tensor, i: number) => Tensor | null): Tensor | null {
    const r = tidy(() => {
      let acc: Tensor | null = null;
      this.params.forEach((p, i) => {
        const t = term(p, i);
        if (t) acc = acc ? acc.add(t) : t;
      });
      return acc;
    });
    return r ? keep(r) : null;
  }

  private unitVectors(): Tensor[] {
    if (!this.basis) {
      this.basis = Array.from({ length: SLOTS }, (_, k) => {
        const e = new Float32Array(SLOTS);
        e[k] = 1;
        return keep(tensor(e, [SLOTS]));
      });
    }
    return this.basis;
  }
}
