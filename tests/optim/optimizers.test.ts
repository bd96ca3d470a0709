// SGD, Adam, AdamW, SAM/ASAM and UGD against hand-computed numbers and the float64 references of
// tests/reference/optim.ts (PyTorch's update rules, sam.py, asam.py, pugd.py's xp_step).
//
// Problem: the diagonal quadratic over five tensors (10⁴, 4096, 4097, 3, 70 elements), so every
// optimizer also crosses the 4096-element norm chunks. Tolerance on the displacement w − w0 (not on
// w: normalised updates are ~lr/√N per element): 4e-7 absolute (the f32 weights, |w| < 2, are
// rounded once per step: ≤ 5 × ½ ulp; measured ≤ 1.5e-7) + 1e-4 relative for the unnormalised
// optimizers, 1e-3 for the normalised ones (their f32 global norm over 2·10⁴ terms).
import { describe, it, beforeAll, expect } from 'vitest';
import { Generator, optim, tensor, type Tensor } from '../../engine/index.js';
import { expectClose, randData, testBackends, useBackend } from '../harness.js';
import { diagonal, type Problem } from './problems.js';
import * as ref from '../reference/optim.js';

const flat = (xs: ArrayLike<number>[]) => xs.flatMap((x) => Array.from(x));

type Opt = { step(c?: optim.Closure): Promise<Tensor | null>; zeroGrad(): void; dispose(): void };

async function run(problem: Problem, w0: ArrayLike<number>[], make: (ws: Tensor[]) => Opt, steps: number, closure = true): Promise<number[][]> {
  const ws = w0.map((t, k) => tensor(Array.from(t), problem.shapes[k], { requiresGrad: true }));
  const opt = make(ws);
  const traj: number[][] = [];
  for (let s = 0; s < steps; s++) {
    if (closure) {
      await opt.step(() => {
        opt.zeroGrad();
        const l = problem.loss(ws);
        l.backward();
        return l;
      });
    } else {
      // PyTorch's other protocol: gradients computed outside, step() without a closure.
      opt.zeroGrad();
      const l = problem.loss(ws);
      l.backward();
      l.dispose();
      expect(await opt.step()).toBeNull();
    }
    traj.push(flat(await Promise.all(ws.map((w) => w.toArray()))));
  }
  opt.dispose();
  for (const w of ws) w.dispose();
  return traj;
}

function compare(label: string, traj: number[][], refTraj: ref.Tensors[], w0: ArrayLike<number>[], rtol: number): void {
  const start = flat(w0);
  traj.forEach((w, s) => {
    expectClose(`${label} step ${s + 1}: w − w0`, w.map((v, i) => v - start[i]), flat(refTraj[s]).map((v, i) => v - start[i]), { atol: 4e-7, rtol });
  });
}

function refRun(w0: ArrayLike<number>[], steps: number, step: (ws: ref.Tensors) => ref.Tensors): ref.Tensors[] {
  let ws: ref.Tensors = w0.map((w) => Float64Array.from(w));
  const out: ref.Tensors[] = [];
  for (let s = 0; s < steps; s++) out.push((ws = step(ws)));
  return out;
}

/** L = Σ c ⊙ w: constant gradient c, for the hand-computed cases. */
const linear = (c: number[]): Problem => ({
  shapes: [[c.length]],
  loss: ([w]) => w.mul(tensor(c, [c.length])).sum(),
  grad: () => [Float64Array.from(c)],
  value: ([w]) => w.reduce((s, v, i) => s + v * c[i], 0),
});

for (const backend of testBackends()) {
  describe(`optimizers vs hand computation and float64 on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    const g = new Generator(77);
    const shapes = [[100, 100], [4096], [4097], [3], [2, 5, 7]];
    const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
    const A = sizes.map((n) => randData(g, n, { lo: 0.5, hi: 2 }).f32);
    const B = sizes.map((n) => randData(g, n).f32);
    const w0 = sizes.map((n) => randData(g, n, { lo: -1.5, hi: 1.5 }).f32);
    const problem = diagonal(shapes, A, B);
    const groups = (ws: Tensor[]) => [{ params: ws.slice(0, 3) }, { params: ws.slice(3), lr: 0.02, weightDecay: 0 }];
    const perTensor = <T>(main: T, small: T) => sizes.map((_, k) => (k >= 3 ? small : main));

    it('SGD by hand: lr 0.1, momentum 0.9, weight decay 0.1, constant gradient (2, 0.5)', async () => {
      // d = g + 0.1·w; step 1: buf = d = (2.1, 0.3), w = (0.79, −2.03);
      // step 2: d = (2.079, 0.297), buf = 0.9·(2.1, 0.3) + d = (3.969, 0.567), w = (0.3931, −2.0867).
      const traj = await run(linear([2, 0.5]), [[1, -2]], (ws) => new optim.SGD(ws, { lr: 0.1, momentum: 0.9, weightDecay: 0.1 }), 2);
      expectClose('SGD step 1', traj[0], [0.79, -2.03], { atol: 1e-6, rtol: 0 });
      expectClose('SGD step 2', traj[1], [0.3931, -2.0867], { atol: 1e-6, rtol: 0 });
    });

    it('Adam by hand: the first step moves each weight by lr·g/(|g| + eps) ≈ lr·sign(g)', async () => {
      const traj = await run(linear([2, -0.5]), [[1, -2]], (ws) => new optim.Adam(ws, { lr: 0.01 }), 1);
      expectClose('Adam step 1', traj[0], [1 - 0.01 * (2 / (2 + 1e-8)), -2 + 0.01 * (0.5 / (0.5 + 1e-8))], { atol: 1e-7, rtol: 0 });
    });

    it('AdamW by hand: the first step also shrinks w by (1 − lr·λ)', async () => {
      const traj = await run(linear([2, -0.5]), [[1, -2]], (ws) => new optim.AdamW(ws, { lr: 0.01, weightDecay: 0.5 }), 1);
      expectClose('AdamW step 1', traj[0], [1 * (1 - 0.005) - 0.01, -2 * (1 - 0.005) + 0.01], { atol: 1e-7, rtol: 0 });
    });

    const sgdCases: { name: string; o: optim.SGDOptions; h: ref.SgdH }[] = [
      { name: 'plain', o: { lr: 0.05 }, h: { lr: 0.05, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false } },
      { name: 'momentum + weight decay', o: { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }, h: { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: false } },
      { name: 'dampening 0.5', o: { lr: 0.05, momentum: 0.8, dampening: 0.5 }, h: { lr: 0.05, momentum: 0.8, dampening: 0.5, weightDecay: 0, nesterov: false } },
      { name: 'nesterov', o: { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }, h: { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 1e-3, nesterov: true } },
    ];
    for (const c of sgdCases) {
      it(`SGD ${c.name}: 4 steps vs float64`, async () => {
        const traj = await run(problem, w0, (ws) => new optim.SGD(ws, c.o), 4);
        const states = sizes.map(() => ({ buf: null as Float64Array | null }));
        compare(`SGD ${c.name}`, traj, refRun(w0, 4, (ws) => ref.sgdStep(ws, problem.grad, sizes.map(() => c.h), states)), w0, 1e-4);
      });
    }

    it('SGD with param groups (lr, weight decay per group, keyed by tensor) and step() without closure', async () => {
      const h = { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 1e-2, nesterov: false };
      const traj = await run(problem, w0, (ws) => new optim.SGD(groups(ws), { lr: 0.05, momentum: 0.9, weightDecay: 1e-2 }), 3, false);
      const states = sizes.map(() => ({ buf: null as Float64Array | null }));
      const hs = perTensor(h, { ...h, lr: 0.02, weightDecay: 0 });
      compare('SGD groups', traj, refRun(w0, 3, (ws) => ref.sgdStep(ws, problem.grad, hs, states)), w0, 1e-4);
    });

    for (const [name, Ctor, decoupled] of [['Adam', optim.Adam, false], ['AdamW', optim.AdamW, true]] as const) {
      it(`${name} with groups and weight decay: 5 steps vs float64`, async () => {
        const o = { lr: 0.01, betas: [0.8, 0.99] as [number, number], eps: 1e-6, weightDecay: 0.05 };
        const traj = await run(problem, w0, (ws) => new Ctor(groups(ws), o), 5);
        const h = { lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.05 };
        const hs = perTensor(h, { ...h, lr: 0.02, weightDecay: 0 });
        const states = ref.adamInit(w0.map((w) => Float64Array.from(w)));
        compare(name, traj, refRun(w0, 5, (ws) => ref.adamStep(ws, problem.grad, hs, states, decoupled)), w0, 1e-4);
      });
    }

    it('UGD: u = g/(‖g‖ + 1e-12), momentum SGD; 3 steps vs float64', async () => {
      const o = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
      const traj = await run(problem, w0, (ws) => new optim.UGD(ws, o), 3);
      const states = sizes.map(() => ({ buf: null as Float64Array | null }));
      const h = { ...o, dampening: 0, nesterov: false };
      compare('UGD', traj, refRun(w0, 3, (ws) => ref.ugdStep(ws, problem.grad, sizes.map(() => h), states)), w0, 1e-3);
    });

    const sgdH = { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: false };
    const samCases: { name: string; make: (ws: Tensor[]) => Opt; o: { rho: number; adaptive: boolean; eta: number }; base: () => (w: Float64Array, g: Float64Array, k: number) => Float64Array }[] = [
      {
        name: 'SAM over SGD (momentum, weight decay)',
        make: (ws) => new optim.SAM(ws, { rho: 0.05, lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }),
        o: { rho: 0.05, adaptive: false, eta: 0 },
        base: () => {
          const st = sizes.map(() => ({ buf: null as Float64Array | null }));
          return (w, gk, k) => ref.sgdTensor(w, gk, sgdH, st[k]);
        },
      },
      {
        name: 'ASAM (adaptive, eta 0.01) over SGD',
        make: (ws) => new optim.SAM(ws, { rho: 0.5, adaptive: true, lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }),
        o: { rho: 0.5, adaptive: true, eta: 0.01 },
        base: () => {
          const st = sizes.map(() => ({ buf: null as Float64Array | null }));
          return (w, gk, k) => ref.sgdTensor(w, gk, sgdH, st[k]);
        },
      },
      {
        name: 'SAM over AdamW (base by name)',
        make: (ws) => new optim.SAM(ws, { rho: 0.1, base: 'adamw', lr: 0.01, weightDecay: 0.05 }),
        o: { rho: 0.1, adaptive: false, eta: 0 },
        base: () => {
          const st = ref.adamInit(w0.map((w) => Float64Array.from(w)));
          const h = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };
          return (w, gk, k) => ref.adamTensor(w, gk, h, st[k], true);
        },
      },
      {
        name: 'ASAM over Adam (base by class)',
        make: (ws) => new optim.SAM(ws, { rho: 0.2, adaptive: true, eta: 0.1, base: optim.Adam, lr: 0.01 }),
        o: { rho: 0.2, adaptive: true, eta: 0.1 },
        base: () => {
          const st = ref.adamInit(w0.map((w) => Float64Array.from(w)));
          const h = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
          return (w, gk, k) => ref.adamTensor(w, gk, h, st[k], false);
        },
      },
    ];
    for (const c of samCases) {
      it(`${c.name}: 3 steps vs float64`, async () => {
        const traj = await run(problem, w0, c.make, 3);
        const base = c.base();
        compare(c.name, traj, refRun(w0, 3, (ws) => ref.samStep(ws, problem.grad, c.o, base)), w0, 1e-3);
      });
    }
  });
}
