// conv2d forward and both backwards against the float64 reference (odd sizes, channels 3 and 13,
// batch 1 and 5, strides 1 and 2, padding 0/1/2, 1×1, 3×3 and non-square kernels); the reference
// gradients against finite differences. Tolerance rtol 1e-5 of Σ|terms|: one f32 accumulation per
// element over C·R·S (forward), K·R·S (dx) or N·P·Q (dw) products. dy is random: with all-ones dy a
// flipped-kernel bug in dx shows only at the borders.
import { describe, it, beforeAll } from 'vitest';
import { Generator, nn, tensor } from '../../engine/index.js';
import { randData, runOp, expectClose, fdCheck, testBackends, useBackend } from '../harness.js';
import * as ref from '../reference/conv2d.js';

const cases: (ref.G & { seed: number })[] = [
  { N: 1, C: 3, H: 7, W: 5, K: 4, R: 3, S: 3, sh: 1, sw: 1, ph: 1, pw: 1, seed: 1 },
  { N: 5, C: 13, H: 7, W: 5, K: 3, R: 3, S: 3, sh: 2, sw: 2, ph: 1, pw: 1, seed: 2 },
  { N: 2, C: 3, H: 9, W: 8, K: 13, R: 1, S: 1, sh: 1, sw: 1, ph: 0, pw: 0, seed: 3 },
  { N: 3, C: 5, H: 8, W: 8, K: 7, R: 1, S: 1, sh: 2, sw: 2, ph: 0, pw: 0, seed: 4 },
  { N: 2, C: 4, H: 6, W: 7, K: 5, R: 3, S: 2, sh: 1, sw: 2, ph: 0, pw: 1, seed: 5 },
  { N: 1, C: 2, H: 5, W: 5, K: 3, R: 5, S: 5, sh: 1, sw: 1, ph: 2, pw: 2, seed: 6 },
  { N: 2, C: 16, H: 11, W: 9, K: 17, R: 3, S: 3, sh: 1, sw: 1, ph: 1, pw: 1, seed: 7 },
  { N: 2, C: 3, H: 13, W: 13, K: 8, R: 7, S: 7, sh: 2, sw: 2, ph: 3, pw: 3, seed: 8 },
  // Across the WASM GEMM's blocks and gathers: C·R·S = 360 > KC (256), P·Q = 99 and K = 6 not multiples
  // of the 8×4 tile; padding wider than the kernel (dx crops dy); strides 3 and 3-wide; and two shapes
  // large enough to run on all threads by default (batch split, and batch 1: column/channel split).
  { N: 1, C: 40, H: 9, W: 11, K: 6, R: 3, S: 3, sh: 1, sw: 1, ph: 1, pw: 1, seed: 9 },
  { N: 3, C: 5, H: 10, W: 10, K: 9, R: 1, S: 1, sh: 1, sw: 1, ph: 1, pw: 1, seed: 10 },
  { N: 2, C: 6, H: 11, W: 12, K: 7, R: 3, S: 3, sh: 3, sw: 2, ph: 1, pw: 0, seed: 11 },
  { N: 2, C: 4, H: 9, W: 13, K: 5, R: 2, S: 3, sh: 1, sw: 3, ph: 0, pw: 1, seed: 12 },
  { N: 3, C: 16, H: 20, W: 20, K: 12, R: 3, S: 3, sh: 1, sw: 1, ph: 1, pw: 1, seed: 13 },
  { N: 1, C: 24, H: 24, W: 24, K: 20, R: 3, S: 3, sh: 1, sw: 1, ph: 1, pw: 1, seed: 14 },
];

for (const backend of testBackends()) {
  describe(`conv2d on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    for (const c of cases) {
      it(`N${c.N} C${c.C} ${c.H}×${c.W} → K${c.K} ${c.R}×${c.S} stride ${c.sh},${c.sw} pad ${c.ph},${c.pw}`, async () => {
        const g = new Generator(c.seed);
        const [P, Q] = ref.outSize(c);
        const X = randData(g, c.N * c.C * c.H * c.W);
        const Wt = randData(g, c.K * c.C * c.R * c.S);
        const dy = randData(g, c.N * c.K * P * Q);
        const r = await runOp(
          [{ data: X.f32, shape: [c.N, c.C, c.H, c.W], grad: true }, { data: Wt.f32, shape: [c.K, c.C, c.R, c.S], grad: true }],
          ([x, w]) => nn.functional.conv2d(x, w, null, { stride: [c.sh, c.sw], padding: [c.ph, c.pw] }),
          dy.f32,
        );
        const f = ref.conv2d(X.f64, Wt.f64, c);
        expectClose('conv2d y', r.y, f.y, { scale: f.scale, shape: [c.N, c.K, P, Q] });
        const b = ref.conv2dBackward(X.f64, Wt.f64, dy.f64, c);
        expectClose('conv2d dx', r.grads[0]!, b.dx, { scale: b.dxScale, shape: [c.N, c.C, c.H, c.W] });
        expectClose('conv2d dw', r.grads[1]!, b.dw, { scale: b.dwScale, shape: [c.K, c.C, c.R, c.S] });
        if (X.f64.length * Wt.f64.length < 2e5) {
          fdCheck('conv2d reference', ([x, w]) => ref.conv2d(x, w, c).y, [X.f64, Wt.f64], dy.f64, [b.dx, b.dw], { maxElems: 64 });
        }
      });
    }
    it('bias is added per output channel and gets Σ dy', async () => {
      const c = { N: 2, C: 3, H: 5, W: 7, K: 4, R: 3, S: 3, sh: 1, sw: 1, ph: 1, pw: 1 };
      const g = new Generator(9);
      const X = randData(g, 2 * 3 * 5 * 7);
      const Wt = randData(g, 4 * 3 * 9);
      const Bi = randData(g, 4);
      const dy = randData(g, 2 * 4 * 5 * 7);
      const r = await runOp(
        [{ data: X.f32, shape: [2, 3, 5, 7] }, { data: Wt.f32, shape: [4, 3, 3, 3] }, { data: Bi.f32, shape: [4], grad: true }],
        ([x, w, b]) => nn.functional.conv2d(x, w, b, { padding: 1 }), dy.f32,
      );
      const f = ref.conv2d(X.f64, Wt.f64, c);
      expectClose('conv2d+bias', r.y, f.y.map((v, i) => v + Bi.f64[Math.floor(i / 35) % 4]), { scale: f.scale.map((s, i) => s + Math.abs(Bi.f64[Math.floor(i / 35) % 4])) });
      const db = new Float64Array(4);
      dy.f64.forEach((v, i) => (db[Math.floor(i / 35) % 4] += v));
      expectClose('conv2d db', r.grads[2]!, db, { rtol: 1e-5 });
    });
    it('names the op and both shapes on a channel mismatch', () => {
      const x = tensor(new Float32Array(3 * 25), [1, 3, 5, 5]);
      const w = tensor(new Float32Array(16 * 16 * 9), [16, 16, 3, 3]);
      let msg = '';
      try {
        nn.functional.conv2d(x, w);
      } catch (e) {
        msg = (e as Error).message;
      }
      x.dispose();
      w.dispose();
      if (!msg.includes('conv2d: input has 3 channels but weight expects 16')) throw new Error(`unexpected message: ${msg}`);
    });
  });
}
