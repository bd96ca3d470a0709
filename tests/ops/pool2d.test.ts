// maxPool2d / avgPool2d / globalAvgPool2d forward and backward against float64. Max-pool inputs are
// distinct (a seeded permutation of a grid) so the argmax, and the gradient, are unambiguous.
import { describe, it, beforeAll } from 'vitest';
import { Generator, nn } from '../../engine/index.js';
import { randData, runOp, expectClose, fdCheck, testBackends, useBackend } from '../harness.js';
import * as ref from '../reference/pool2d.js';

const cases: (ref.PG & { seed: number })[] = [
  { N: 1, C: 3, H: 7, W: 5, kH: 2, kW: 2, sh: 2, sw: 2, ph: 0, pw: 0, seed: 1 },
  { N: 5, C: 13, H: 7, W: 5, kH: 3, kW: 3, sh: 2, sw: 2, ph: 1, pw: 1, seed: 2 },
  { N: 2, C: 3, H: 9, W: 9, kH: 3, kW: 3, sh: 1, sw: 1, ph: 1, pw: 1, seed: 3 },
  { N: 2, C: 2, H: 8, W: 11, kH: 3, kW: 2, sh: 2, sw: 3, ph: 1, pw: 0, seed: 4 },
];

function distinct(g: Generator, n: number): { f32: Float32Array; f64: Float64Array } {
  const idx = Array.from({ length: n }, (_, i) => i);
  g.shuffle(idx);
  const f32 = Float32Array.from(idx, (v) => (v - n / 2) / 8);
  return { f32, f64: Float64Array.from(f32) };
}

for (const backend of testBackends()) {
  describe(`pool2d on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    for (const c of cases) {
      const attrs = { kernel: [c.kH, c.kW] as [number, number], stride: [c.sh, c.sw] as [number, number], padding: [c.ph, c.pw] as [number, number] };
      const shape = [c.N, c.C, c.H, c.W];
      const [P, Q] = ref.outSize(c);
      it(`maxPool2d ${JSON.stringify(attrs)} on ${JSON.stringify(shape)}`, async () => {
        const g = new Generator(c.seed);
        const X = distinct(g, c.N * c.C * c.H * c.W);
        const dy = randData(g, c.N * c.C * P * Q);
        const r = await runOp([{ data: X.f32, shape, grad: true }], ([x]) => nn.functional.maxPool2d(x, attrs), dy.f32);
        expectClose('maxpool y', r.y, ref.maxPool(X.f64, c).y, { atol: 0, rtol: 0 });
        const dx = ref.maxPoolBackward(X.f64, dy.f64, c);
        expectClose('maxpool dx', r.grads[0]!, dx, { rtol: 1e-6, shape });
        fdCheck('maxpool reference', ([x]) => ref.maxPool(x, c).y, [X.f64], dy.f64, [dx], { h: 1e-4, tol: 1e-6 });
      });
      it(`avgPool2d ${JSON.stringify(attrs)} on ${JSON.stringify(shape)}`, async () => {
        const g = new Generator(c.seed + 100);
        const X = randData(g, c.N * c.C * c.H * c.W);
        const dy = randData(g, c.N * c.C * P * Q);
        const r = await runOp([{ data: X.f32, shape, grad: true }], ([x]) => nn.functional.avgPool2d(x, attrs), dy.f32);
        expectClose('avgpool y', r.y, ref.avgPool(X.f64, c), { rtol: 1e-5, atol: 1e-6 });
        const dx = ref.avgPoolBackward(X.f64.length, dy.f64, c);
        expectClose('avgpool dx', r.grads[0]!, dx, { rtol: 1e-5, atol: 1e-6, shape });
        fdCheck('avgpool reference', ([x]) => ref.avgPool(x, c), [X.f64], dy.f64, [dx]);
      });
    }
    for (const shape of [[1, 3, 7, 5], [5, 13, 8, 8], [2, 64, 1, 1]]) {
      it(`globalAvgPool2d ${JSON.stringify(shape)}`, async () => {
        const g = new Generator(shape[1]);
        const [N, C, H, W] = shape;
        const X = randData(g, N * C * H * W);
        const dy = randData(g, N * C);
        const r = await runOp([{ data: X.f32, shape, grad: true }], ([x]) => nn.functional.globalAvgPool2d(x), dy.f32);
        if (JSON.stringify(r.shape) !== JSON.stringify([N, C, 1, 1])) throw new Error(`shape ${JSON.stringify(r.shape)}`);
        expectClose('gap y', r.y, ref.globalAvgPool(X.f64, N * C, H * W), { rtol: 1e-5, atol: 1e-6 });
        expectClose('gap dx', r.grads[0]!, X.f64.map((_, i) => dy.f64[Math.floor(i / (H * W))] / (H * W)), { rtol: 1e-6 });
      });
    }
  });
}
