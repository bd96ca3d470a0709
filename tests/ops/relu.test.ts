// relu forward/backward against the float64 definition (inputs kept ≥ 0.05 away from the kink).
import { describe, it, beforeAll } from 'vitest';
import { Generator } from '../../engine/index.js';
import { randData, runOp, expectClose, testBackends, useBackend } from '../harness.js';

for (const backend of testBackends()) {
  describe(`relu on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    for (const shape of [[1], [5, 3, 7, 5], [1, 13, 5, 7], [4097]]) {
      it(`relu ${JSON.stringify(shape)}`, async () => {
        const n = shape.reduce((a, b) => a * b, 1);
        const g = new Generator(n);
        const X = randData(g, n, { awayFrom: 0 });
        const dy = randData(g, n);
        const r = await runOp([{ data: X.f32, shape, grad: true }], ([x]) => x.relu(), dy.f32);
        expectClose('relu', r.y, X.f64.map((v) => Math.max(v, 0)), { atol: 0, rtol: 0 });
        expectClose('relu dx', r.grads[0]!, X.f64.map((v, i) => (v > 0 ? dy.f64[i] : 0)), { atol: 0, rtol: 0 });
      });
    }
  });
}
