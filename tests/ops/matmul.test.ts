// matmul and linear, forward and backward, against float64 (tolerance rtol 1e-5 of Σ|terms|: one f32
// accumulation over K products per element).
import { describe, it, beforeAll } from 'vitest';
import { Generator, nn } from '../../engine/index.js';
import { mm } from '../../engine/ops/index.js';
import { randData, runOp, expectClose, fdCheck, testBackends, useBackend } from '../harness.js';
import * as ref from '../reference/matmul.js';

const cases = [
  { M: 1, K: 1, N: 1 }, { M: 7, K: 5, N: 3 }, { M: 13, K: 33, N: 17 }, { M: 65, K: 70, N: 67 }, { M: 5, K: 128, N: 10 }, { M: 130, K: 3, N: 129 },
  // Across the WASM GEMM's blocks (4×8 tiles, MC 128, KC 256, NC 1024): partial tiles and blocks on
  // every side, a single row / column, more than NC columns, a long reduction.
  { M: 257, K: 513, N: 129 }, { M: 1, K: 300, N: 1100 }, { M: 1100, K: 20, N: 1 }, { M: 3, K: 5000, N: 5 },
];

for (const backend of testBackends()) {
  describe(`matmul on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    for (const { M, K, N } of cases) {
      it(`[${M},${K}]·[${K},${N}]`, async () => {
        const g = new Generator(M * 1000 + K * 10 + N);
        const A = randData(g, M * K);
        const B = randData(g, K * N);
        const dc = randData(g, M * N);
        const r = await runOp([{ data: A.f32, shape: [M, K], grad: true }, { data: B.f32, shape: [K, N], grad: true }], ([a, b]) => a.matmul(b), dc.f32);
        const f = ref.matmul(A.f64, B.f64, M, K, N);
        expectClose('matmul', r.y, f.c, { scale: f.scale, shape: [M, N] });
        const b = ref.matmulBackward(A.f64, B.f64, dc.f64, M, K, N);
        expectClose('matmul dA', r.grads[0]!, b.da, { scale: b.daScale, shape: [M, K] });
        expectClose('matmul dB', r.grads[1]!, b.db, { scale: b.dbScale, shape: [K, N] });
        if (M * K * N < 5000) fdCheck('matmul reference', ([a, bb]) => ref.matmul(a, bb, M, K, N).c, [A.f64, B.f64], dc.f64, [b.da, b.db]);
      });
    }
    it('op(A)·op(B) for all four transpose combinations (A stored [K,M] when transposed, B [N,K])', async () => {
      const [M, K, N] = [37, 261, 19];
      const g = new Generator(4242);
      const A = randData(g, M * K);
      const B = randData(g, K * N);
      for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
        const At = tA ? ref.transpose(A.f64, M, K) : A.f64;
        const Bt = tB ? ref.transpose(B.f64, K, N) : B.f64;
        const r = await runOp(
          [{ data: Float32Array.from(At), shape: tA ? [K, M] : [M, K] }, { data: Float32Array.from(Bt), shape: tB ? [N, K] : [K, N] }],
          ([a, b]) => mm(a, b, tA, tB),
        );
        const f = ref.matmul(A.f64, B.f64, M, K, N);
        expectClose(`matmul trans ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`, r.y, f.c, { scale: f.scale, shape: [M, N] });
      }
    });
    it('linear = x·wᵀ + b with w [out, in]', async () => {
      const [Nb, I, O] = [5, 13, 3];
      const g = new Generator(77);
      const X = randData(g, Nb * I);
      const W = randData(g, O * I);
      const Bi = randData(g, O);
      const dy = randData(g, Nb * O);
      const r = await runOp(
        [{ data: X.f32, shape: [Nb, I], grad: true }, { data: W.f32, shape: [O, I], grad: true }, { data: Bi.f32, shape: [O], grad: true }],
        ([x, w, b]) => nn.functional.linear(x, w, b), dy.f32,
      );
      const wt = ref.transpose(W.f64, O, I);
      const f = ref.matmul(X.f64, wt, Nb, I, O);
      const y = f.c.map((v, i) => v + Bi.f64[i % O]);
      expectClose('linear', r.y, y, { scale: f.scale.map((s, i) => s + Math.abs(Bi.f64[i % O])) });
      const bw = ref.matmulBackward(X.f64, wt, dy.f64, Nb, I, O);
      expectClose('linear dx', r.grads[0]!, bw.da, { scale: bw.daScale });
      expectClose('linear dw', r.grads[1]!, ref.transpose(bw.db, I, O), { scale: ref.transpose(bw.dbScale, I, O) });
      const db = new Float64Array(O);
      for (let i = 0; i < Nb * O; i++) db[i % O] += dy.f64[i];
      expectClose('linear db', r.grads[2]!, db, { rtol: 1e-5 });
    });
  });
}
