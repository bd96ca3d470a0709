// conv2d kernels on the WASM backend: forward, input gradient (bwd_x) and weight gradient (bwd_w)
// timed separately and as a total, for 3×3 64→64 on 32×32 at batch 32 and for every conv shape of
// ResNet-20 (CIFAR) at batch 32, on 1 thread and on all threads. The total row also gives the ratio to
// matmul_fwd 512³ measured in the same run on the same threads. Each shape is checked once against
// float64 sums on 24 sampled elements of y, dx and dw before timing.
import { Generator, noGrad, tensor, type Tensor } from '../engine/index.js';
import { conv2d_bwd_w, conv2d_bwd_x, conv2d_fwd, conv2dGeometry, type Conv2dGeometry } from '../engine/ops/conv2d.js';
import { dispatch, output } from '../engine/ops/op.js';
import { mm } from '../engine/ops/index.js';
import { checkClose, emit, quick, threadCounts, timeit, wasmWith } from './common.js';

interface Shape { name: string; N: number; C: number; H: number; K: number; stride: number }
const shapes: Shape[] = [
  { name: '3x3 64->64 32x32', N: 32, C: 64, H: 32, K: 64, stride: 1 },
  { name: 'resnet20 stem 3->16 32x32', N: 32, C: 3, H: 32, K: 16, stride: 1 },
  { name: 'resnet20 16->16 32x32', N: 32, C: 16, H: 32, K: 16, stride: 1 },
  { name: 'resnet20 16->32 32x32 s2', N: 32, C: 16, H: 32, K: 32, stride: 2 },
  { name: 'resnet20 32->32 16x16', N: 32, C: 32, H: 16, K: 32, stride: 1 },
  { name: 'resnet20 32->64 16x16 s2', N: 32, C: 32, H: 16, K: 64, stride: 2 },
  { name: 'resnet20 64->64 8x8', N: 32, C: 64, H: 8, K: 64, stride: 1 },
];

function rand(g: Generator, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * g.uniform() - 1;
  return a;
}

/** Float64 checks of sampled y, dx and dw elements, from the definition of the convolution. */
async function validate(label: string, g: Conv2dGeometry, X: Float32Array, W: Float32Array, DY: Float32Array, y: Tensor, dx: Tensor, dw: Tensor): Promise<void> {
  const { N, C, H, W: Wd, K, R, S, P, Q, strideH: sh, strideW: sw, padH: ph, padW: pw } = g;
  const xAt = (n: number, c: number, h: number, w: number) => (h < 0 || h >= H || w < 0 || w >= Wd ? 0 : X[((n * C + c) * H + h) * Wd + w]);
  const gen = new Generator(7);
  const [Y, DX, DW] = [await y.toArray(), await dx.toArray(), await dw.toArray()];
  const got: number[] = [], want: number[] = [], scale: number[] = [];
  const push = (v: number, s: number, a: number) => (got.push(v), want.push(s), scale.push(a));
  for (let t = 0; t < 24; t++) {
    const n = gen.int(N), k = gen.int(K), p = gen.int(P), q = gen.int(Q);
    let s = 0, a = 0;
    for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) for (let u = 0; u < S; u++) {
      const v = xAt(n, c, p * sh - ph + r, q * sw - pw + u) * W[((k * C + c) * R + r) * S + u];
      s += v;
      a += Math.abs(v);
    }
    push(Y[((n * K + k) * P + p) * Q + q], s, a);
  }
  for (let t = 0; t < 24; t++) {
    const n = gen.int(N), c = gen.int(C), h = gen.int(H), w = gen.int(Wd);
    let s = 0, a = 0;
    for (let k = 0; k < K; k++) for (let r = 0; r < R; r++) for (let u = 0; u < S; u++) {
      const ph_ = h + ph - r, qw = w + pw - u;
      if (ph_ < 0 || qw < 0 || ph_ % sh || qw % sw || ph_ / sh >= P || qw / sw >= Q) continue;
      const v = DY[((n * K + k) * P + ph_ / sh) * Q + qw / sw] * W[((k * C + c) * R + r) * S + u];
      s += v;
      a += Math.abs(v);
    }
    push(DX[((n * C + c) * H + h) * Wd + w], s, a);
  }
  for (let t = 0; t < 24; t++) {
    const k = gen.int(K), c = gen.int(C), r = gen.int(R), u = gen.int(S);
    let s = 0, a = 0;
    for (let n = 0; n < N; n++) for (let p = 0; p < P; p++) for (let q = 0; q < Q; q++) {
      const v = DY[((n * K + k) * P + p) * Q + q] * xAt(n, c, p * sh - ph + r, q * sw - pw + u);
      s += v;
      a += Math.abs(v);
    }
    push(DW[((k * C + c) * R + r) * S + u], s, a);
  }
  checkClose(label, got, want, scale, 1e-5, 1e-6);
}

/** matmul_fwd 512³ GFLOP/s on the current threads: from the median and from the best time. */
async function matmulGflops(): Promise<{ median: number; best: number }> {
  const n = 512;
  const g = new Generator(5);
  const a = tensor(rand(g, n * n), [n, n]);
  const b = tensor(rand(g, n * n), [n, n]);
  const { median, min } = await timeit(() => noGrad(() => mm(a, b, false, false)).dispose(), quick ? 3 : 11, 2);
  a.dispose();
  b.dispose();
  return { median: (2 * n ** 3) / median / 1e6, best: (2 * n ** 3) / min / 1e6 };
}

for (const threads of await threadCounts()) {
  const backend = await wasmWith(threads);
  const mm = await matmulGflops();
  for (const s of shapes) {
    const g = conv2dGeometry([s.N, s.C, s.H, s.H], [s.K, s.C, 3, 3], { stride: s.stride, padding: 1 });
    const gen = new Generator(s.C * 100 + s.K);
    const X = rand(gen, s.N * s.C * s.H * s.H);
    const W = rand(gen, s.K * s.C * 9);
    const DY = rand(gen, g.N * g.K * g.P * g.Q);
    const x = tensor(X, [g.N, g.C, g.H, g.W]);
    const w = tensor(W, [g.K, g.C, g.R, g.S]);
    const dy = tensor(DY, [g.N, g.K, g.P, g.Q]);
    const y = output('bench y', [g.N, g.K, g.P, g.Q], backend);
    const dx = output('bench dx', [g.N, g.C, g.H, g.W], backend);
    const dw = output('bench dw', [g.K, g.C, g.R, g.S], backend);
    const fwd = () => dispatch(conv2d_fwd, g, [x, w], [y]);
    const bwdX = () => dispatch(conv2d_bwd_x, g, [dy, w], [dx]);
    const bwdW = () => dispatch(conv2d_bwd_w, g, [x, dy], [dw]);
    fwd();
    bwdX();
    bwdW();
    await validate(`conv2d ${s.name} on ${threads} thread(s)`, g, X, W, DY, y, dx, dw);
    const flops = 2 * g.N * g.K * g.C * g.R * g.S * g.P * g.Q;
    const reps = quick ? 3 : s.C === 64 && s.H === 32 ? 7 : 15;
    const shape = { N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, R: 3, S: 3, stride: s.stride, pad: 1 };
    let total = 0;
    let totalMin = 0;
    for (const [op, fn] of [['fwd', fwd], ['bwd_x', bwdX], ['bwd_w', bwdW]] as const) {
      const { median, min } = await timeit(fn, reps, 1);
      total += median;
      totalMin += min;
      emit({
        op: `conv2d_${op}`, name: s.name, shape, backend: 'wasm', threads: backend.info.threads, gflops: +(flops / median / 1e6).toFixed(2),
        ms_median: +median.toFixed(3), reps, gflops_best: +(flops / min / 1e6).toFixed(2), ms_min: +min.toFixed(3),
      });
    }
    const gflops = (3 * flops) / total / 1e6;
    const gflopsBest = (3 * flops) / totalMin / 1e6;
    emit({
      op: 'conv2d_total', name: s.name, shape, backend: 'wasm', threads: backend.info.threads, gflops: +gflops.toFixed(2), ms_median: +total.toFixed(3),
      images_per_s: +((g.N / total) * 1000).toFixed(1), matmul512_gflops: +mm.median.toFixed(2), vs_matmul: +(gflops / mm.median).toFixed(3),
      gflops_best: +gflopsBest.toFixed(2), matmul512_gflops_best: +mm.best.toFixed(2), vs_matmul_best: +(gflopsBest / mm.best).toFixed(3),
    });
    for (const t of [x, w, dy, y, dx, dw]) t.dispose();
  }
}
