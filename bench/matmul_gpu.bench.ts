// matmul C[M,N] = A[M,K]·B[K,N] on the WebGPU backend, both kernel variants (barrier-free `regs`,
// workgroup-memory `tiled`), TFLOP/s = 2·M·N·K / time. Each shape is validated once (64 sampled C
// entries against float64 on the host), then timed: `inner` matmuls enqueued back to back and one
// sync, median of `reps`. Default shape 4096³ on a real GPU; 512³ on a fallback (software) adapter,
// where 4096³ would take minutes. One JSON line per variant and shape.
// Usage: node bench/run.mjs matmul_gpu   (env BENCH_SIZES=4096,2048  BENCH_REPS=5  BENCH_INNER=10)
import { ensureSoftwareAdapterEnv } from '../engine/backends/webgpu_node_env.js';
import { backendDesc, emit, median } from './common.js';

ensureSoftwareAdapterEnv();
const pugd = await import('../engine/index.js');
const { matmul_fwd } = await import('../engine/ops/matmul.js');
type Gpu = import('../engine/backends/webgpu.js').WebGpuBackend;

pugd.setBackendLogger(null);
await pugd.setBackend('webgpu');
const b = pugd.getBackend() as Gpu;
const fallback = b.isFallbackAdapter;
const sizes = (process.env.BENCH_SIZES ?? (fallback ? '512' : '4096')).split(',').map(Number);
const reps = Number(process.env.BENCH_REPS ?? 5);
const inner = Number(process.env.BENCH_INNER ?? (fallback ? 1 : 10));
const g = new pugd.Generator(3);

for (const n of sizes) {
  const [M, K, N] = [n, n, n];
  const A = Float32Array.from({ length: M * K }, () => g.uniform() - 0.5);
  const Bm = Float32Array.from({ length: K * N }, () => g.uniform() - 0.5);
  const a = pugd.tensor(A, [M, K]);
  const bb = pugd.tensor(Bm, [K, N]);
  const c = pugd.zeros([M, N]);
  const params = { M, K, N, transA: 0, transB: 0 };
  for (const variant of ['tiled', 'regs'] as const) {
    b.variant = variant;
    const once = () => b.run(matmul_fwd, params, [a.storage.buf, bb.storage.buf], [c.storage.buf]);
    once();
    const C = await c.toArray();
    let worst = 0;
    for (let s = 0; s < 64; s++) {
      const i = g.int(M);
      const j = g.int(N);
      let ref = 0;
      let mag = 0;
      for (let k = 0; k < K; k++) {
        ref += A[i * K + k] * Bm[k * N + j];
        mag += Math.abs(A[i * K + k] * Bm[k * N + j]);
      }
      worst = Math.max(worst, Math.abs(C[i * N + j] - ref) / mag);
    }
    if (!(worst < 1e-5)) throw new Error(`matmul ${variant} ${n}³: relative error ${worst} against float64`);
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      await b.sync();
      const t0 = performance.now();
      for (let i = 0; i < inner; i++) once();
      await b.sync();
      times.push((performance.now() - t0) / inner);
    }
    const ms = median(times);
    emit({ bench: 'matmul_gpu', variant, M, K, N, ...backendDesc(), ms_median: +ms.toFixed(3), tflops: +((2 * M * N * K) / ms / 1e9).toFixed(4), gflops: +((2 * M * N * K) / ms / 1e6).toFixed(2), reps, inner, max_rel_err_sampled: +worst.toExponential(2) });
  }
  for (const t of [a, bb, c]) t.dispose();
}
process.exit(0);
