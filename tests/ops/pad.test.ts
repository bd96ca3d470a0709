// padChannels forward and backward against the definition (exact: pure data movement).
import { describe, it, beforeAll } from 'vitest';
import { Generator, nn } from '../../engine/index.js';
import { randData, runOp, expectClose, testBackends, useBackend } from '../harness.js';

for (const backend of testBackends()) {
  describe(`pad on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    for (const [N, C, H, W, before, after] of [[5, 3, 7, 5, 2, 3], [1, 16, 4, 4, 8, 8], [2, 13, 1, 3, 0, 1]]) {
      it(`padChannels [${N},${C},${H},${W}] +${before}/+${after}`, async () => {
        const g = new Generator(C);
        const X = randData(g, N * C * H * W);
        const Cy = before + C + after;
        const dy = randData(g, N * Cy * H * W);
        const r = await runOp([{ data: X.f32, shape: [N, C, H, W], grad: true }], ([x]) => nn.functional.padChannels(x, before, after), dy.f32);
        const y = new Float64Array(N * Cy * H * W);
        const dx = new Float64Array(X.f32.length);
        for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) {
          y[(n * Cy + c + before) * H * W + i] = X.f64[(n * C + c) * H * W + i];
          dx[(n * C + c) * H * W + i] = dy.f64[(n * Cy + c + before) * H * W + i];
        }
        expectClose('pad y', r.y, y, { atol: 0, rtol: 0, shape: [N, Cy, H, W] });
        expectClose('pad dx', r.grads[0]!, dx, { atol: 0, rtol: 0, shape: [N, C, H, W] });
      });
    }
  });
}
