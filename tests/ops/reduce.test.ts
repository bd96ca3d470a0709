// sum / mean / sum of squares over all elements, forward and backward, against float64.
// Tolerance: rtol 1e-5 of Σ|terms| (a fixed-order f32 reduction of up to 10⁵ terms stays well inside
// it; the backends accumulate blocks in f64 (wasm) or in a tree (webgpu)).
import { describe, it, beforeAll } from 'vitest';
import { Generator, tidy } from '../../engine/index.js';
import { randData, runOp, expectClose, testBackends, useBackend } from '../harness.js';
import * as ref from '../reference/reduce.js';

const sizes = [[1], [7, 5], [5, 13, 7, 5], [100003]];

for (const backend of testBackends()) {
  describe(`reduce on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    for (const shape of sizes) {
      const n = shape.reduce((a, b) => a * b, 1);
      it(`sum, mean, sumSquares of ${JSON.stringify(shape)}`, async () => {
        const g = new Generator(n);
        const X = randData(g, n);
        const dy = randData(g, 1);
        const s = ref.sum(X.f64);
        const q = ref.sumSquares(X.f64);
        const r1 = await runOp([{ data: X.f32, shape, grad: true }], ([x]) => x.sum(), dy.f32);
        expectClose('sum', r1.y, [s.y], { scale: [s.scale] });
        expectClose('sum dx', r1.grads[0]!, new Float64Array(n).fill(dy.f64[0]), { rtol: 1e-7 });
        const r2 = await runOp([{ data: X.f32, shape, grad: true }], ([x]) => x.mean(), dy.f32);
        expectClose('mean', r2.y, [s.y / n], { scale: [s.scale / n] });
        expectClose('mean dx', r2.grads[0]!, new Float64Array(n).fill(dy.f64[0] / n), { rtol: 1e-6 });
        const r3 = await runOp([{ data: X.f32, shape, grad: true }], ([x]) => x.sumSquares(), dy.f32);
        expectClose('sumSquares', r3.y, [q.y], { scale: [q.scale] });
        expectClose('sumSquares dx', r3.grads[0]!, X.f64.map((v) => 2 * v * dy.f64[0]), { rtol: 1e-6 });
        const r4 = await runOp([{ data: X.f32, shape, grad: true }], ([x]) => tidy(() => x.square().sum()), dy.f32);
        expectClose('square().sum()', r4.y, [q.y], { scale: [q.scale] });
      });
    }
    it('same input gives the same bits twice (fixed order)', async () => {
      const g = new Generator(5);
      const X = randData(g, 54321);
      const a = await runOp([{ data: X.f32, shape: [54321] }], ([x]) => x.sum());
      const b = await runOp([{ data: X.f32, shape: [54321] }], ([x]) => x.sum());
      if (a.y[0] !== b.y[0]) throw new Error(`sum not deterministic: ${a.y[0]} vs ${b.y[0]}`);
    });
  });
}
