// The analyses behind `pugd analyze`, written against a plain objective (a loss and its gradient on
// a flat float64 parameter vector), so they run the same on a model over a fixed data subset
// (cli/analyze.ts) and on a function with known answers (the tests use a quadratic whose Hessian,
// ball maximum and landscape are exactly computable). All arithmetic here is float64.
//
// - Sharpness in the ball of radius ρ: L(w + ε) − L(w) for
//     PUGD's ε  = ρ · |w|⊙g / ‖|w|⊙g‖        (SPEC §1.2.2 with radius ρ; PUGD trains with ρ = 1)
//     SAM's ε   = ρ · g / ‖g‖                 (Foret et al.)
//     random    = the best of K filter-normalised random directions, each scaled to ‖ε‖ = ρ
//     ascent    = projected gradient ascent: from SAM's ε, ε ← Π_ρ(ε + α·ρ·ĝ(w + ε)), keeping the best
//   (g = ∇L(w), ĝ the unit gradient, Π_ρ the projection onto the ball).
// - Loss landscapes along filter-normalised random directions (Li et al., NeurIPS 2018): each filter
//   (row of a weight with ≥ 2 dimensions) of a Gaussian direction rescaled to the norm of the same
//   filter of w; 1-D parameters (biases, BatchNorm) get 0 ("ignore biasbn"). 1-D: L(w + a·d),
//   2-D: L(w + a·d1 + b·d2) on a grid over [−r, r].
// - Top Hessian eigenvalue by power iteration on Hessian-vector products taken as central finite
//   differences of gradients, Hv ≈ (∇L(w + h·v) − ∇L(w − h·v)) / 2h with ‖v‖ = 1 (exact for a
//   quadratic). The eigenvalue of largest magnitude; each iteration's Rayleigh quotient vᵀHv and the
//   residual ‖Hv − λv‖/|λ| show its convergence.

import { Generator } from '../engine/random.js';

/** A contiguous range of the flat vector: one tensor, split into `filters` equal rows. */
export interface ParamBlock {
  name: string;
  offset: number;
  size: number;
  /** Rows for filter normalisation (a conv weight's output channels; 1 for a bias). */
  filters: number;
  /** Random directions are 0 here (biases and BatchNorm parameters, as Li et al.). */
  skip: boolean;
}

/** What the analyses need of a loss. */
export interface Objective {
  readonly dim: number;
  readonly blocks: readonly ParamBlock[];
  loss(w: Float64Array): Promise<number>;
  lossGrad(w: Float64Array): Promise<{ loss: number; grad: Float64Array }>;
}

export const norm = (v: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
};
export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
/** a + s·b (new vector). */
export const axpy = (a: Float64Array, s: number, b: ArrayLike<number>): Float64Array => a.map((v, i) => v + s * b[i]);
const scaled = (v: Float64Array, s: number): Float64Array => v.map((x) => x * s);

/** A Gaussian direction with each filter rescaled to the norm of the same filter of `w`. */
export function filterNormalizedDirection(blocks: readonly ParamBlock[], w: Float64Array, gen: Generator): Float64Array {
  const d = new Float64Array(w.length);
  for (const b of blocks) {
    // Draw for every block (skipped ones too), so a direction does not depend on which are skipped.
    for (let i = 0; i < b.size; i++) d[b.offset + i] = gen.normal();
    const row = b.size / b.filters;
    for (let f = 0; f < b.filters; f++) {
      const lo = b.offset + f * row;
      const seg = d.subarray(lo, lo + row);
      if (b.skip) {
        seg.fill(0);
        continue;
      }
      const nd = norm(seg);
      const nw = norm(w.subarray(lo, lo + row));
      const s = nd > 0 ? nw / nd : 0;
      for (let i = 0; i < row; i++) seg[i] *= s;
    }
  }
  return d;
}

export interface BallPoint {
  /** L(w + ε) − L(w). */
  increase: number;
  loss: number;
  epsNorm: number;
}

export interface SharpnessResult {
  rho: number;
  baseLoss: number;
  gradNorm: number;
  pugd: BallPoint;
  sam: BallPoint;
  /** Null with K = 0. */
  random: (BallPoint & { k: number; increases: number[] }) | null;
  ascent: BallPoint & { steps: number; stepFraction: number; trace: number[] };
}

export interface SharpnessOptions {
  rho: number;
  /** Random directions (default 10). */
  k?: number;
  /** Projected gradient-ascent steps (default 5). */
  steps?: number;
  /** Ascent step length as a fraction of ρ (default 0.5). */
  stepFraction?: number;
  seed?: number;
  /** L(w) and ∇L(w) when already known. */
  at?: { loss: number; grad: Float64Array };
}

/** The loss increase in the ball of radius ρ around `w` by four ways of choosing ε (file header). */
export async function sharpness(obj: Objective, w: Float64Array, o: SharpnessOptions): Promise<SharpnessResult> {
  const rho = o.rho;
  const k = o.k ?? 10;
  const steps = o.steps ?? 5;
  const frac = o.stepFraction ?? 0.5;
  const base = o.at ?? (await obj.lossGrad(w));
  const g = base.grad;
  const gn = norm(g);
  const at = async (eps: Float64Array): Promise<BallPoint> => {
    const l = await obj.loss(axpy(w, 1, eps));
    return { increase: l - base.loss, loss: l, epsNorm: norm(eps) };
  };
  const wg = g.map((v, i) => Math.abs(w[i]) * v);
  const wgn = norm(wg);
  const pugd = await at(scaled(wg, wgn > 0 ? rho / wgn : 0));
  const samEps = scaled(g, gn > 0 ? rho / gn : 0);
  const sam = await at(samEps);

  const gen = new Generator(o.seed ?? 0);
  const increases: number[] = [];
  let bestRandom: BallPoint | null = null;
  for (let j = 0; j < k; j++) {
    const d = filterNormalizedDirection(obj.blocks, w, gen);
    const dn = norm(d);
    const p = await at(scaled(d, dn > 0 ? rho / dn : 0));
    increases.push(p.increase);
    if (!bestRandom || p.increase > bestRandom.increase) bestRandom = p;
  }

  // Projected gradient ascent from SAM's ε, keeping the best point seen.
  let eps: Float64Array = samEps;
  let best: BallPoint = sam;
  const trace: number[] = [sam.increase];
  for (let t = 0; t < steps; t++) {
    const { grad } = await obj.lossGrad(axpy(w, 1, eps));
    const n = norm(grad);
    if (!(n > 0)) break;
    let next = axpy(eps, (frac * rho) / n, grad);
    const nn = norm(next);
    if (nn > rho) next = scaled(next, rho / nn);
    eps = next;
    const p = await at(eps);
    trace.push(p.increase);
    if (p.increase > best.increase) best = p;
  }
  return {
    rho, baseLoss: base.loss, gradNorm: gn, pugd, sam,
    random: bestRandom ? { ...bestRandom, k, increases } : null,
    ascent: { ...best, steps, stepFraction: frac, trace },
  };
}

export interface Landscape1D {
  seed: number;
  range: number;
  alphas: number[];
  losses: number[];
}
export interface Landscape2D {
  seed: number;
  range: number;
  alphas: number[];
  betas: number[];
  /** losses[i][j] = L(w + alphas[j]·d1 + betas[i]·d2). */
  losses: number[][];
}

const grid = (range: number, n: number) => Array.from({ length: n }, (_, i) => (n === 1 ? 0 : -range + (2 * range * i) / (n - 1)));

/** L(w + a·d) for a on `points` values over [−range, range], d filter-normalised (seeded). */
export async function landscape1d(obj: Objective, w: Float64Array, o: { seed: number; range: number; points: number; onPoint?: (i: number) => void }): Promise<Landscape1D & { direction: Float64Array }> {
  const d = filterNormalizedDirection(obj.blocks, w, new Generator(o.seed));
  const alphas = grid(o.range, o.points);
  const losses: number[] = [];
  for (const [i, a] of alphas.entries()) {
    losses.push(await obj.loss(axpy(w, a, d)));
    o.onPoint?.(i);
  }
  return { seed: o.seed, range: o.range, alphas, losses, direction: d };
}

/** L(w + a·d1 + b·d2) on a points × points grid, d1 and d2 filter-normalised (seeded, independent). */
export async function landscape2d(obj: Objective, w: Float64Array, o: { seed: number; range: number; points: number; onPoint?: (i: number) => void }): Promise<Landscape2D & { directions: [Float64Array, Float64Array] }> {
  const gen = new Generator(o.seed);
  const d1 = filterNormalizedDirection(obj.blocks, w, gen);
  const d2 = filterNormalizedDirection(obj.blocks, w, gen);
  const xs = grid(o.range, o.points);
  const losses: number[][] = [];
  let n = 0;
  for (const b of xs) {
    const row: number[] = [];
    for (const a of xs) {
      row.push(await obj.loss(axpy(axpy(w, a, d1), b, d2)));
      o.onPoint?.(n++);
    }
    losses.push(row);
  }
  return { seed: o.seed, range: o.range, alphas: xs, betas: xs, losses, directions: [d1, d2] };
}

export interface HessianResult {
  method: string;
  h: number;
  iterations: number;
  eigenvalue: number;
  /** Per iteration: the Rayleigh quotient vᵀHv and the residual ‖Hv − λv‖ / |λ|. */
  trace: { iteration: number; eigenvalue: number; residual: number }[];
}

/** Top (largest-magnitude) Hessian eigenvalue by power iteration on finite-difference HVPs. */
export async function topHessianEigenvalue(obj: Objective, w: Float64Array, o: { iterations: number; h: number; seed: number; onIteration?: (i: number, lambda: number) => void }): Promise<HessianResult & { vector: Float64Array }> {
  const gen = new Generator(o.seed);
  let v: Float64Array = Float64Array.from({ length: obj.dim }, () => gen.normal());
  v = scaled(v, 1 / norm(v));
  const trace: HessianResult['trace'] = [];
  let lambda = 0;
  for (let it = 1; it <= o.iterations; it++) {
    const gp = (await obj.lossGrad(axpy(w, o.h, v))).grad;
    const gm = (await obj.lossGrad(axpy(w, -o.h, v))).grad;
    const hv = gp.map((x, i) => (x - gm[i]) / (2 * o.h));
    lambda = dot(v, hv);
    const res = norm(hv.map((x, i) => x - lambda * v[i])) / Math.max(Math.abs(lambda), 1e-30);
    trace.push({ iteration: it, eigenvalue: lambda, residual: res });
    o.onIteration?.(it, lambda);
    const n = norm(hv);
    if (!(n > 0)) break;
    v = scaled(hv, 1 / n);
  }
  return { method: 'power iteration on Hessian-vector products by central finite differences of gradients: Hv ≈ (∇L(w+hv) − ∇L(w−hv))/2h, ‖v‖ = 1', h: o.h, iterations: o.iterations, eigenvalue: lambda, trace, vector: v };
}
