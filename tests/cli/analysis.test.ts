// The analyses of `pugd analyze` (cli/analysis.ts) on a quadratic L(w) = bᵀw + ½wᵀHw with a Hessian
// H = Q·diag(λ)·Qᵀ built here from known eigenvalues: the power iteration must find λ_max, the
// landscape values must equal the closed form L(w) + a·gᵀd + ½a²·dᵀHd, every ball point must equal
// gᵀε + ½εᵀHε, and projected gradient ascent must reach the ball maximum, which is computed
// independently from the trust-region condition (H − μI)ε = −g, ‖ε‖ = ρ, by bisection on μ.
import { describe, it, expect } from 'vitest';
import { Generator } from '../../engine/random.js';
import { sharpness, landscape1d, landscape2d, topHessianEigenvalue, filterNormalizedDirection, norm, dot, type Objective, type ParamBlock } from '../../cli/analysis.js';

const LAMBDA = [6, 3, 2, 1.5, 1, 0.5, 0.3, 0.1];
const N = LAMBDA.length;

/** A random orthogonal matrix (Gram–Schmidt on Gaussian columns), columns Q[:, j] = q[j]. */
function orthogonal(gen: Generator): Float64Array[] {
  const q: Float64Array[] = [];
  while (q.length < N) {
    const v = Float64Array.from({ length: N }, () => gen.normal());
    for (const u of q) {
      const p = dot(v, u);
      for (let i = 0; i < N; i++) v[i] -= p * u[i];
    }
    const n = norm(v);
    if (n > 1e-6) q.push(v.map((x) => x / n));
  }
  return q;
}

const gen = new Generator(7);
const Q = orthogonal(gen);
const H: Float64Array[] = Array.from({ length: N }, (_, i) => Float64Array.from({ length: N }, (_, j) => Q.reduce((s, q, k) => s + LAMBDA[k] * q[i] * q[j], 0)));
const b = Float64Array.from({ length: N }, () => gen.normal());
const w0 = Float64Array.from({ length: N }, () => gen.normal());
const Hv = (v: ArrayLike<number>) => Float64Array.from(H, (row) => dot(row, v));
const L = (w: Float64Array) => dot(b, w) + 0.5 * dot(w, Hv(w));
const gradAt = (w: Float64Array) => Hv(w).map((x, i) => x + b[i]);
// Two blocks: a "conv weight" of 2 filters × 3 values and a "bias" of 2 (random directions skip it).
const blocks: ParamBlock[] = [
  { name: 'conv.weight', offset: 0, size: 6, filters: 2, skip: false },
  { name: 'conv.bias', offset: 6, size: 2, filters: 1, skip: true },
];
let evaluations = 0;
const quad: Objective = {
  dim: N,
  blocks,
  loss: async (w) => { evaluations++; return L(w); },
  lossGrad: async (w) => { evaluations++; return { loss: L(w), grad: gradAt(w) }; },
};
const g0 = gradAt(w0);
const rise = (eps: ArrayLike<number>) => dot(g0, eps) + 0.5 * dot(eps, Hv(eps));

/** max gᵀε + ½εᵀHε over ‖ε‖ ≤ ρ for positive definite H: ε = (μI − H)⁻¹g with ‖ε‖ = ρ, μ > λ_max. */
function ballMaximum(rho: number): number {
  const c = Q.map((q) => dot(q, g0));
  const epsNorm = (mu: number) => Math.sqrt(c.reduce((s, ci, i) => s + (ci / (mu - LAMBDA[i])) ** 2, 0));
  let lo = LAMBDA[0] + 1e-12;
  let hi = LAMBDA[0] + norm(c) / rho + 1;
  for (let it = 0; it < 200; it++) {
    const mid = (lo + hi) / 2;
    if (epsNorm(mid) > rho) lo = mid;
    else hi = mid;
  }
  const mu = (lo + hi) / 2;
  const z = c.map((ci, i) => ci / (mu - LAMBDA[i]));
  return z.reduce((s, zi, i) => s + c[i] * zi + 0.5 * LAMBDA[i] * zi * zi, 0);
}

const close = (a: number, e: number, rtol: number) => expect(Math.abs(a - e), `${a} vs ${e}`).toBeLessThanOrEqual(rtol * Math.max(1, Math.abs(e)));

describe('analysis on a quadratic with a known Hessian', () => {
  it('power iteration on finite-difference Hessian-vector products finds λ_max and shows convergence', async () => {
    const r = await topHessianEigenvalue(quad, w0, { iterations: 40, h: 1e-3, seed: 1 });
    close(r.eigenvalue, LAMBDA[0], 1e-9);
    expect(r.trace).toHaveLength(40);
    expect(r.trace[0].residual).toBeGreaterThan(1e-3);
    expect(r.trace.at(-1)!.residual).toBeLessThan(1e-6);
    // The Rayleigh quotient never exceeds λ_max and rises towards it.
    for (const t of r.trace) expect(t.eigenvalue).toBeLessThanOrEqual(LAMBDA[0] + 1e-9);
    expect(r.trace.at(-1)!.eigenvalue).toBeGreaterThan(r.trace[0].eigenvalue);
    // The vector is the top eigenvector (up to sign).
    expect(Math.abs(dot(r.vector, Q[0]))).toBeGreaterThan(1 - 1e-9);
  });

  it('filter-normalised directions: each filter has the norm of w\'s filter, skipped blocks are 0, seeded', () => {
    const d = filterNormalizedDirection(blocks, w0, new Generator(3));
    close(norm(d.subarray(0, 3)), norm(w0.subarray(0, 3)), 1e-12);
    close(norm(d.subarray(3, 6)), norm(w0.subarray(3, 6)), 1e-12);
    expect([...d.subarray(6)]).toEqual([0, 0]);
    expect([...filterNormalizedDirection(blocks, w0, new Generator(3))]).toEqual([...d]);
    expect([...filterNormalizedDirection(blocks, w0, new Generator(4))]).not.toEqual([...d]);
  });

  it('1-D and 2-D landscapes equal the closed form along their directions', async () => {
    const l1 = await landscape1d(quad, w0, { seed: 5, range: 1, points: 21 });
    const d = l1.direction;
    expect(l1.alphas[0]).toBe(-1);
    expect(l1.alphas[10]).toBeCloseTo(0, 15);
    expect(l1.alphas[20]).toBe(1);
    l1.alphas.forEach((a, i) => close(l1.losses[i], L(w0) + a * dot(g0, d) + 0.5 * a * a * dot(d, Hv(d)), 1e-12));
    const l2 = await landscape2d(quad, w0, { seed: 5, range: 0.5, points: 7 });
    const [d1, d2] = l2.directions;
    expect(l2.losses).toHaveLength(7);
    l2.betas.forEach((bb, i) => l2.alphas.forEach((a, j) => {
      const e = L(w0) + a * dot(g0, d1) + bb * dot(g0, d2) + 0.5 * (a * a * dot(d1, Hv(d1)) + 2 * a * bb * dot(d1, Hv(d2)) + bb * bb * dot(d2, Hv(d2)));
      close(l2.losses[i][j], e, 1e-12);
    }));
    // Seeded: the same seed gives the same landscape.
    expect((await landscape1d(quad, w0, { seed: 5, range: 1, points: 21 })).losses).toEqual(l1.losses);
  });

  for (const rho of [1, 0.05]) {
    it(`sharpness in the ball of radius ${rho}: PUGD, SAM and random ε by the closed form, ascent reaches the ball maximum`, async () => {
      const r = await sharpness(quad, w0, { rho, k: 8, steps: 200, stepFraction: 0.5, seed: 2 });
      const max = ballMaximum(rho);
      close(r.baseLoss, L(w0), 1e-12);
      close(r.gradNorm, norm(g0), 1e-12);
      // SAM: ε = ρ·g/‖g‖.
      const samEps = g0.map((x) => (rho * x) / norm(g0));
      close(r.sam.increase, rise(samEps), 1e-10);
      close(r.sam.epsNorm, rho, 1e-12);
      // PUGD: ε = ρ·|w|⊙g/‖|w|⊙g‖.
      const wg = g0.map((x, i) => Math.abs(w0[i]) * x);
      close(r.pugd.increase, rise(wg.map((x) => (rho * x) / norm(wg))), 1e-10);
      close(r.pugd.epsNorm, rho, 1e-12);
      // Random directions: the seeded filter-normalised directions scaled to ρ, by the closed form;
      // inside the ball and below its maximum; the best is reported.
      const rnd = r.random!;
      expect(rnd.increases).toHaveLength(8);
      const gen2 = new Generator(2);
      for (const v of rnd.increases) {
        const d = filterNormalizedDirection(blocks, w0, gen2);
        close(v, rise(d.map((x) => (rho * x) / norm(d))), 1e-10);
        expect(v).toBeLessThanOrEqual(max + 1e-12);
      }
      close(rnd.increase, Math.max(...rnd.increases), 0);
      close(rnd.epsNorm, rho, 1e-12);
      // Nothing beats the exact maximum; the ascent reaches it and improves on SAM's first-order ε.
      for (const v of [r.sam.increase, r.pugd.increase, r.ascent.increase]) expect(v).toBeLessThanOrEqual(max + 1e-10);
      close(r.ascent.increase, max, 1e-8);
      expect(r.ascent.epsNorm).toBeLessThanOrEqual(rho * (1 + 1e-12));
      expect(r.ascent.increase).toBeGreaterThanOrEqual(r.sam.increase);
      expect(r.ascent.trace[0]).toBe(r.sam.increase);
    });
  }

  it('counts: one loss+gradient at w, then losses only except the ascent steps', async () => {
    evaluations = 0;
    await sharpness(quad, w0, { rho: 1, k: 3, steps: 4 });
    // lossGrad at w, PUGD, SAM, 3 random, 4 × (lossGrad + loss)
    expect(evaluations).toBe(1 + 2 + 3 + 8);
    expect((await sharpness(quad, w0, { rho: 1, k: 0, steps: 0 })).random).toBeNull();
  });
});
