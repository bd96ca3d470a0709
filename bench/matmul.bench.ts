// matmul_fwd on the WASM backend: C[M,N] = op(A)·op(B) at 256³, 512³ and 1024³ (plus the transposed
// variants backward passes use, at 512³), on 1 thread and on all threads (PUGD_THREADS or
// min(cores, 4)). Each shape is checked once against float64 dot products on 64 sampled elements
// before timing. Prints one JSON line per row: GFLOP/s from the median time.
import { Generator, noGrad, tensor, type Tensor } from '../engine/index.js';
import { mm } from '../engine/ops/index.js';
import { checkClose, emit, quick, threadCounts, timeit, wasmWith } from './common.js';

function rand(g: Generator, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * g.uniform() - 1;
  return a;
}

async function validate(label: string, c: Tensor, A: Float32Array, B: Float32Array, M: number, K: number, N: number, tA: boolean, tB: boolean): Promise<void> {
  const got = await c.toArray();
  const g = new Generator(99);
  const out: number[] = [], want: number[] = [], scale: number[] = [];
  for (let t = 0; t < 64; t++) {
    const i = g.int(M), j = g.int(N);
    let s = 0, a = 0;
    for (let k = 0; k < K; k++) {
      const v = (tA ? A[k * M + i] : A[i * K + k]) * (tB ? B[j * K + k] : B[k * N + j]);
      s += v;
      a += Math.abs(v);
    }
    out.push(got[i * N + j]);
    want.push(s);
    scale.push(a);
  }
  checkClose(label, out, want, scale, 1e-5, 1e-6);
}

const shapes: { n: number; reps: number; trans: [boolean, boolean][] }[] = [
  { n: 256, reps: quick ? 5 : 30, trans: [[false, false]] },
  { n: 512, reps: quick ? 3 : 15, trans: [[false, false], [false, true], [true, false], [true, true]] },
  { n: 1024, reps: quick ? 2 : 7, trans: [[false, false]] },
];

for (const threads of await threadCounts()) {
  const b = await wasmWith(threads);
  for (const { n, reps, trans } of shapes) {
    const [M, K, N] = [n, n, n];
    const g = new Generator(n);
    const A = rand(g, M * K);
    const B = rand(g, K * N);
    const a = tensor(A, [M, K]);
    const bt = tensor(B, [K, N]);
    for (const [tA, tB] of trans) {
      const tag = `${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`;
      const c0 = noGrad(() => mm(a, bt, tA, tB));
      await validate(`matmul ${tag} ${n}³ on ${threads} thread(s)`, c0, A, B, M, K, N, tA, tB);
      c0.dispose();
      const { median, min } = await timeit(() => noGrad(() => mm(a, bt, tA, tB)).dispose(), reps, 2);
      const flops = 2 * M * N * K;
      emit({
        op: 'matmul', shape: [M, K, N], trans: tag, backend: 'wasm', threads: b.info.threads, gflops: +(flops / median / 1e6).toFixed(2),
        ms_median: +median.toFixed(3), reps, gflops_best: +(flops / min / 1e6).toFixed(2), ms_min: +min.toFixed(3),
      });
    }
    a.dispose();
    bt.dispose();
  }
}
