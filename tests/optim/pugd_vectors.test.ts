// PUGD against every golden vector of ../shared/pugd/vectors.json (SPEC §5), through the public API:
// the closure builds the loss from tensors, `opt.step(closure)` does the rest. Besides w_new, each
// step checks what the closure sees (w and g1 in pass 1, w+ε and g2 in pass 2), the returned loss
// (the clean one), and the momentum buffer from stateDict().
//
// Tolerances (SPEC §5): 2e-6 absolute on weights for an f32 implementation (the f32 model differs
// from f64 by ≤ 1.9e-7 on TV1–TV6); gradients and losses 1e-5 relative to their magnitude (they are
// f32 results of the f32 weights). The float64 reference (tests/reference/optim.ts) must reproduce the
// vectors to 1e-12 relative, as SPEC §5 asks of an f64 implementation.
import { describe, it, beforeAll, expect } from 'vitest';
import { memory, noGrad, optim, tensor, tidy, type Tensor } from '../../engine/index.js';
import { expectClose, testBackends, useBackend } from '../harness.js';
import { loadVectors, vectorProblems, type Vector } from './problems.js';
import * as ref from '../reference/optim.js';

const vectors = loadVectors();
const W_TOL = 2e-6;

const flat = (xs: ArrayLike<number>[]) => xs.flatMap((x) => Array.from(x));
const maxAbs = (xs: number[]) => xs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

function closeW(label: string, got: number[], exp: number[]): void {
  expectClose(label, got, exp, { atol: W_TOL, rtol: 0 });
}
function closeG(label: string, got: number[], exp: number[]): void {
  expectClose(label, got, exp, { atol: 1e-6 * maxAbs(exp), rtol: 1e-5 });
}

async function readAll(ts: Tensor[]): Promise<number[]> {
  return flat(await Promise.all(ts.map((t) => t.toArray())));
}

describe('float64 reference of SPEC §1.3 (tests/reference/optim.ts)', () => {
  for (const [key, problem] of Object.entries(vectorProblems)) {
    it(`reproduces ${key} to 1e-12`, () => {
      const v = vectors[key] as Vector;
      let ws: ref.Tensors = v.w0.map((t) => Float64Array.from(t));
      const h = { lr: v.hyper.lr, momentum: v.hyper.momentum ?? 0, weightDecay: v.hyper.weight_decay ?? 0, dampening: 0, nesterov: false };
      const states = ws.map(() => ({ buf: null as Float64Array | null }));
      expect(problem.value(ws)).toBeCloseTo(v.loss0, 12);
      for (const [s, st] of v.steps.entries()) {
        const tr = ref.pugdStep(ws, problem.grad, ws.map(() => h), states, { radius: 1, gradient: 'sum', normalization: 'global' });
        const rel = { atol: 1e-300, rtol: 1e-12 };
        expectClose(`${key} step ${s + 1} g1`, flat(tr.g1), flat(st.g1), { ...rel, atol: 1e-24 });
        expectClose(`${key} step ${s + 1} a`, [tr.a[0]], [st.abs_norm], rel);
        expectClose(`${key} step ${s + 1} ε`, flat(tr.e), flat(st.e), rel);
        expectClose(`${key} step ${s + 1} g2`, flat(tr.g2), flat(st.g2), { ...rel, atol: 1e-24 });
        expectClose(`${key} step ${s + 1} n`, [tr.n[0]], [st.sum_norm], rel);
        expectClose(`${key} step ${s + 1} w_new`, flat(tr.wNew), flat(st.w_new), { atol: 1e-15, rtol: 1e-12 });
        ws = tr.wNew;
        expectClose(`${key} step ${s + 1} loss`, [problem.value(ws)], [st.loss_after], { atol: 1e-24, rtol: 1e-12 });
      }
    });
  }
});

for (const backend of testBackends()) {
  describe(`PUGD golden vectors (SPEC §5) on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    for (const [key, problem] of Object.entries(vectorProblems)) {
      it(key, async () => {
        const v = vectors[key] as Vector;
        const before = memory();
        const ws = v.w0.map((t, k) => tensor(t, problem.shapes[k], { requiresGrad: true }));
        const opt = new optim.PUGD(ws, { lr: v.hyper.lr, momentum: v.hyper.momentum ?? 0, weightDecay: v.hyper.weight_decay ?? 0 });
        let wStart = flat(v.w0);
        let expectedLoss = v.loss0;
        for (const [s, st] of v.steps.entries()) {
          const seen: { w: number[]; g: number[] }[] = [];
          const loss = await opt.step(async () => {
            opt.zeroGrad();
            const l = problem.loss(ws);
            l.backward();
            seen.push({ w: await readAll(ws), g: await readAll(ws.map((p) => p.grad!)) });
            return l;
          });
          const tag = `${key} step ${s + 1}`;
          expect(seen.length, `${tag}: the closure runs twice`).toBe(2);
          closeW(`${tag}: w in pass 1`, seen[0].w, wStart);
          closeG(`${tag}: g1`, seen[0].g, flat(st.g1));
          closeW(`${tag}: w+ε in pass 2`, seen[1].w, flat(st.w_pert));
          closeG(`${tag}: g2`, seen[1].g, flat(st.g2));
          closeG(`${tag}: returned loss is the clean one`, [await loss.item()], [expectedLoss]);
          closeW(`${tag}: w_new vs f64`, await readAll(ws), flat(st.w_new));
          closeW(`${tag}: w_new vs the f32 model`, await readAll(ws), flat(st.w_new_f32));
          const sd = opt.stateDict();
          st.buf.forEach((b, k) => {
            const m = sd.state[String(k)]?.momentumBuffer;
            if (b === null) expect(m, `${tag}: no momentum buffer without momentum`).toBeUndefined();
            else expect(m).toBeDefined();
          });
          for (const [k, b] of st.buf.entries()) {
            if (b) expectClose(`${tag}: momentum buffer ${k}`, await (sd.state[String(k)].momentumBuffer as Tensor).toArray(), b, { atol: W_TOL, rtol: 1e-6 });
          }
          for (const p of ws) expect(p.grad, `${tag}: gradients released after the step`).toBeNull();
          wStart = flat(st.w_new);
          expectedLoss = st.loss_after;
        }
        // The loss at the final weights.
        const last = noGrad(() => tidy(() => problem.loss(ws)));
        closeG(`${key}: loss after the last step`, [await last.item()], [expectedLoss]);
        last.dispose();
        opt.dispose();
        for (const p of ws) p.dispose();
        const after = memory();
        expect(after.liveTensors, 'leaked tensor handles').toBe(before.liveTensors);
        expect(after.liveBytes, 'leaked bytes').toBe(before.liveBytes);
      });
    }
  });
}
