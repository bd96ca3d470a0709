// PUGD properties of SPEC §1.5 and §5 ("Property tests"), and PUGD against the float64 reference on
// problems larger than the vectors: several tensors crossing the 4096-element norm chunks, param
// groups, nesterov, dampening, radius ≠ 1 and the explicit variants (g2 only, per-tensor norms).
//
// Tolerances: 2e-6 absolute on the vector-sized problems (SPEC §5). On the random problems (2·10⁴
// elements, so per-element updates of ~lr/√N) the displacement w − w0 is compared: 2e-7 absolute
// (3 ulp of w ≈ 1, the rounding of the f32 weights themselves) + 1e-3 relative.
import { describe, it, beforeAll, expect } from 'vitest';
import { Generator, optim, tensor, type Tensor } from '../../engine/index.js';
import { expectClose, randData, testBackends, useBackend } from '../harness.js';
import { diagonal, loadVectors, quadratic, quadraticSplit, twoTensors, type Problem, type Vector } from './problems.js';
import * as ref from '../reference/optim.js';

const vectors = loadVectors();
const flat = (xs: ArrayLike<number>[]) => xs.flatMap((x) => Array.from(x));

type Opts = ConstructorParameters<typeof optim.PUGD>[1];

/** Runs `steps` PUGD steps on `problem` from w0; returns the weights after each step and what pass 2 saw. */
async function runPugd(problem: Problem, w0: ArrayLike<number>[], opts: Opts, steps: number, params?: (ws: Tensor[]) => ConstructorParameters<typeof optim.PUGD>[0]) {
  const ws = w0.map((t, k) => tensor(Array.from(t), problem.shapes[k], { requiresGrad: true }));
  const opt = new optim.PUGD(params ? params(ws) : ws, opts);
  const traj: number[][] = [];
  const perturbed: number[][] = [];
  for (let s = 0; s < steps; s++) {
    let pass = 0;
    await opt.step(async () => {
      opt.zeroGrad();
      const l = problem.loss(ws);
      l.backward();
      if (pass++ === 1) perturbed.push(flat(await Promise.all(ws.map((w) => w.toArray()))));
      return l;
    });
    traj.push(flat(await Promise.all(ws.map((w) => w.toArray()))));
  }
  opt.dispose();
  for (const w of ws) w.dispose();
  return { traj, perturbed };
}

const scaled = (p: Problem, c: number): Problem => ({ ...p, loss: (ws) => p.loss(ws).mul(c) });

for (const backend of testBackends()) {
  describe(`PUGD properties (SPEC §1.5, §5) on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    const tv1 = vectors.TV1_quadratic_plain as Vector;
    const tv2 = vectors.TV2_quadratic_repo_defaults_3steps as Vector;
    const tv3 = vectors.TV3_two_tensors_global_norm as Vector;
    const repo = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };

    it('scale invariance: the loss ×1000 (and ×1e-3) gives TV1\'s w_new', async () => {
      for (const c of [1000, 1e-3]) {
        const r = await runPugd(scaled(quadratic, c), tv1.w0, { lr: 0.1, momentum: 0, weightDecay: 0 }, 1);
        expectClose(`TV1 with loss ×${c}`, r.traj[0], flat(tv1.steps[0].w_new), { atol: 2e-6, rtol: 0 });
      }
    });

    it('‖ε‖ = a/(a + 1e-12) = 1 (radius 1) and ‖ε‖ = radius otherwise', async () => {
      for (const radius of [1, 0.25]) {
        const r = await runPugd(quadratic, tv1.w0, { lr: 0.1, momentum: 0, weightDecay: 0, radius }, 1);
        const e = r.perturbed[0].map((v, i) => v - flat(tv1.w0)[i]);
        expect(Math.hypot(...e)).toBeCloseTo(radius, 6);
      }
    });

    it('splitting TV2\'s tensor into [w1], [w2] changes nothing (3 steps, global norms)', async () => {
      const r = await runPugd(quadraticSplit, [[1], [-2]], repo, 3);
      tv2.steps.forEach((st, s) => expectClose(`split step ${s + 1}`, r.traj[s], flat(st.w_new), { atol: 2e-6, rtol: 0 }));
    });

    it('…but it does change the result under per-tensor norms (negative control)', async () => {
      const r = await runPugd(quadraticSplit, [[1], [-2]], { ...repo, normalization: 'tensor' }, 3);
      const diff = Math.max(...r.traj[2].map((v, i) => Math.abs(v - flat(tv2.steps[2].w_new)[i])));
      expect(diff, 'per-tensor norms must move the split problem elsewhere').toBeGreaterThan(1e-2);
    });

    it('permuting the tensors (c before w) changes nothing', async () => {
      const permuted: Problem = { ...twoTensors, shapes: [[1], [1, 2]], loss: ([c, w]) => twoTensors.loss([w, c]) };
      const r = await runPugd(permuted, [tv3.w0[1], tv3.w0[0]], { lr: 0.05, momentum: 0.9, weightDecay: 0.01 }, 1);
      const [w, c] = tv3.steps[0].w_new;
      expectClose('TV3 permuted', r.traj[0], [...c, ...w], { atol: 2e-6, rtol: 0 });
    });

    it('TV3 negative control: normalization "tensor" gives the NONREFERENCE result, the default does not', async () => {
      const control = flat((vectors.TV3_NONREFERENCE_per_tensor_norm as { w_new: number[][] }).w_new);
      const h = { lr: 0.05, momentum: 0.9, weightDecay: 0.01 };
      const perTensor = await runPugd(twoTensors, tv3.w0, { ...h, normalization: 'tensor' }, 1);
      expectClose('TV3 per-tensor', perTensor.traj[0], control, { atol: 2e-6, rtol: 0 });
      const global = await runPugd(twoTensors, tv3.w0, h, 1);
      expectClose('TV3 global', global.traj[0], flat(tv3.steps[0].w_new), { atol: 2e-6, rtol: 0 });
      const diff = Math.max(...global.traj[0].map((v, i) => Math.abs(v - control[i])));
      expect(diff).toBeGreaterThan(1e-3);
    });

    it('zero gradient: ε = 0 and u = 0, only weight decay and momentum move w', async () => {
      const flatLoss: Problem = { shapes: [[3]], loss: ([w]) => w.mul(0).sum(), grad: ([w]) => [new Float64Array(w.length)], value: () => 0 };
      const w0 = [Float64Array.of(1, -2, 0.5)];
      const r = await runPugd(flatLoss, w0, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 }, 2);
      const states = [{ buf: null as Float64Array | null }];
      const h = [{ lr: 0.1, momentum: 0.9, weightDecay: 0.01, dampening: 0, nesterov: false }];
      let ws: ref.Tensors = w0;
      for (let s = 0; s < 2; s++) {
        ws = ref.pugdStep(ws, flatLoss.grad, h, states, { radius: 1, gradient: 'sum', normalization: 'global' }).wNew;
        expectClose(`zero gradient step ${s + 1}`, r.traj[s], flat(ws), { atol: 1e-7, rtol: 1e-7 });
      }
      expect(r.perturbed[0]).toEqual(flat(w0.map((w) => Float32Array.from(w)))); // ε = 0 exactly
    });

    const g = new Generator(2024);
    const shapes = [[100, 100], [4096], [4097], [3], [2, 5, 7]];
    const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
    const a = sizes.map((n) => randData(g, n, { lo: 0.5, hi: 2 }).f32);
    const b = sizes.map((n) => randData(g, n).f32);
    const w0 = sizes.map((n) => randData(g, n, { lo: -1.5, hi: 1.5 }).f32);
    const problem = diagonal(shapes, a, b);
    const base = { lr: 0.05, momentum: 0.9, weightDecay: 5e-4, dampening: 0, nesterov: false };
    const cases: { name: string; opts: Opts; h: ref.SgdH[]; o: ref.PugdOpts; groups?: boolean }[] = [
      { name: 'reference defaults', opts: base, h: sizes.map(() => base), o: { radius: 1, gradient: 'sum', normalization: 'global' } },
      { name: 'nesterov', opts: { ...base, nesterov: true }, h: sizes.map(() => ({ ...base, nesterov: true })), o: { radius: 1, gradient: 'sum', normalization: 'global' } },
      { name: 'dampening 0.3, radius 0.5', opts: { ...base, dampening: 0.3, radius: 0.5 }, h: sizes.map(() => ({ ...base, dampening: 0.3 })), o: { radius: 0.5, gradient: 'sum', normalization: 'global' } },
      { name: 'momentum 0', opts: { ...base, momentum: 0 }, h: sizes.map(() => ({ ...base, momentum: 0 })), o: { radius: 1, gradient: 'sum', normalization: 'global' } },
      { name: "gradient: 'perturbed' (g2 only)", opts: { ...base, gradient: 'perturbed' }, h: sizes.map(() => base), o: { radius: 1, gradient: 'perturbed', normalization: 'global' } },
      { name: "normalization: 'tensor'", opts: { ...base, normalization: 'tensor' }, h: sizes.map(() => base), o: { radius: 1, gradient: 'sum', normalization: 'tensor' } },
      {
        name: 'param groups: no weight decay and lr ×2 on the small tensors',
        opts: base,
        groups: true,
        h: sizes.map((_, k) => (k >= 3 ? { ...base, weightDecay: 0, lr: 0.1 } : base)),
        o: { radius: 1, gradient: 'sum', normalization: 'global' },
      },
    ];
    for (const c of cases) {
      it(`5 tensors (10⁴, 4096, 4097, 3, 70 elements), 3 steps vs float64: ${c.name}`, async () => {
        const r = await runPugd(problem, w0, c.opts, 3, c.groups ? (ws) => [{ params: ws.slice(0, 3) }, { params: ws.slice(3), weightDecay: 0, lr: 0.1 }] : undefined);
        let ws: ref.Tensors = w0.map((w) => Float64Array.from(w));
        const states = ws.map(() => ({ buf: null as Float64Array | null }));
        for (let s = 0; s < 3; s++) {
          ws = ref.pugdStep(ws, problem.grad, c.h, states, c.o).wNew;
          // Compare the displacement from w0: per-element updates are ~lr/√N here, so an absolute
          // tolerance on w would hide an error of a few percent in u.
          const start = flat(w0);
          expectClose(`${c.name} step ${s + 1}: w − w0`, r.traj[s].map((v, i) => v - start[i]), flat(ws).map((v, i) => v - start[i]), { atol: 2e-7, rtol: 1e-3 });
        }
      });
    }

    it('same inputs, same backend → the same bits', async () => {
      const x = await runPugd(problem, w0, base, 2);
      const y = await runPugd(problem, w0, base, 2);
      expect(y.traj).toEqual(x.traj);
    });
  });
}
