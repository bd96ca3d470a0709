// BatchNorm kernels (twin of wgsl/batchnorm2d.wgsl; op, letters and formulas in
// engine/ops/batchnorm2d.ts). x [N,C,HW]; per-channel vectors [C]. Per-channel sums run over n, then
// over the HW plane (f32x4 partial sums per plane, accumulated in f64): a fixed order.
// Threads: the per-channel reductions (bn_stats, bn_bwd_reduce) split channels, so each channel's sums
// are computed by one thread in the order above. The elementwise kernels (bn_fwd, bn_bwd_dx) split
// images, as the convolutions and ReLU around them do, so each core mostly touches data already in its
// own cache (channels when there are fewer images than threads); per-channel constants are recomputed
// per image, identically.

import { hi0, hi1, lo0, lo1, share, share2, shareHi, shareLo, threadCount, threadIndex } from './parallel';

@inline function planeSum(p: usize, HW: i32): f64 {
  let s = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= HW; i += 4) s = f32x4.add(s, v128.load(p + (<usize>i << 2)));
  let t: f32 = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  for (; i < HW; i++) t += load<f32>(p + (<usize>i << 2));
  return <f64>t;
}

@inline function planeSqDev(p: usize, HW: i32, mean: f32): f64 {
  const m = f32x4.splat(mean);
  let s = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= HW; i += 4) {
    const d = f32x4.sub(v128.load(p + (<usize>i << 2)), m);
    s = f32x4.add(s, f32x4.mul(d, d));
  }
  let t: f32 = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  for (; i < HW; i++) {
    const d = load<f32>(p + (<usize>i << 2)) - mean;
    t += d * d;
  }
  return <f64>t;
}

/** Per-channel mean and biased variance (two passes). */
export function bn_stats(x: usize, mean: usize, vari: usize, N: i32, C: i32, HW: i32): void {
  const M = <f64>N * <f64>HW;
  share(C, 1);
  for (let c = shareLo; c < shareHi; c++) {
    let s: f64 = 0;
    for (let n = 0; n < N; n++) s += planeSum(x + (<usize>((n * C + c) * HW) << 2), HW);
    const mu = <f32>(s / M);
    let v: f64 = 0;
    for (let n = 0; n < N; n++) v += planeSqDev(x + (<usize>((n * C + c) * HW) << 2), HW, mu);
    store<f32>(mean + (<usize>c << 2), mu);
    store<f32>(vari + (<usize>c << 2), <f32>(v / M));
  }
}

/** y = γ·(x − mean)/√(var + eps) + β. */
export function bn_fwd(x: usize, mean: usize, vari: usize, gamma: usize, beta: usize, y: usize, N: i32, C: i32, HW: i32, eps: f32): void {
  share2(N >= threadCount(), N, 1, C, 1);
  const n0 = lo0, n1 = hi0, c0 = lo1, c1 = hi1;
  for (let n = n0; n < n1; n++) {
    for (let c = c0; c < c1; c++) {
      const invstd: f32 = 1 / Mathf.sqrt(load<f32>(vari + (<usize>c << 2)) + eps);
      const scale: f32 = load<f32>(gamma + (<usize>c << 2)) * invstd;
      const shift: f32 = load<f32>(beta + (<usize>c << 2)) - load<f32>(mean + (<usize>c << 2)) * scale;
      const sv = f32x4.splat(scale);
      const bv = f32x4.splat(shift);
      const o = <usize>((n * C + c) * HW) << 2;
      let i = 0;
      for (; i + 4 <= HW; i += 4) {
        const q = o + (<usize>i << 2);
        v128.store(y + q, f32x4.add(f32x4.mul(v128.load(x + q), sv), bv));
      }
      for (; i < HW; i++) {
        const q = o + (<usize>i << 2);
        store<f32>(y + q, load<f32>(x + q) * scale + shift);
      }
    }
  }
}

/** running ← (1 − m)·running + m·batch; the variance term is scaled by unbias = M/(M−1). */
export function bn_running(mean: usize, vari: usize, runningMean: usize, runningVar: usize, C: i32, momentum: f32, unbias: f32): void {
  if (threadIndex() != 0) return;
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    store<f32>(runningMean + o, (1 - momentum) * load<f32>(runningMean + o) + momentum * load<f32>(mean + o));
    store<f32>(runningVar + o, (1 - momentum) * load<f32>(runningVar + o) + momentum * load<f32>(vari + o) * unbias);
  }
}

/** dgamma = Σ dy·x̂, dbeta = Σ dy per channel. */
export function bn_bwd_reduce(x: usize, dy: usize, mean: usize, vari: usize, dgamma: usize, dbeta: usize, N: i32, C: i32, HW: i32, eps: f32): void {
  share(C, 1);
  for (let c = shareLo; c < shareHi; c++) {
    const mu = load<f32>(mean + (<usize>c << 2));
    const invstd: f32 = 1 / Mathf.sqrt(load<f32>(vari + (<usize>c << 2)) + eps);
    const muv = f32x4.splat(mu);
    let sdy: f64 = 0;
    let sdx: f64 = 0;
    for (let n = 0; n < N; n++) {
      const o = <usize>((n * C + c) * HW) << 2;
      let a = f32x4.splat(0);
      let b = f32x4.splat(0);
      let i = 0;
      for (; i + 4 <= HW; i += 4) {
        const q = o + (<usize>i << 2);
        const g = v128.load(dy + q);
        a = f32x4.add(a, g);
        b = f32x4.add(b, f32x4.mul(g, f32x4.sub(v128.load(x + q), muv)));
      }
      let ta: f32 = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
      let tb: f32 = f32x4.extract_lane(b, 0) + f32x4.extract_lane(b, 1) + f32x4.extract_lane(b, 2) + f32x4.extract_lane(b, 3);
      for (; i < HW; i++) {
        const q = o + (<usize>i << 2);
        const g = load<f32>(dy + q);
        ta += g;
        tb += g * (load<f32>(x + q) - mu);
      }
      sdy += <f64>ta;
      sdx += <f64>tb;
    }
    store<f32>(dbeta + (<usize>c << 2), <f32>sdy);
    store<f32>(dgamma + (<usize>c << 2), <f32>(sdx * <f64>invstd));
  }
}

/**
 * training: dx = γ·invstd·(dy − dβ/M − x̂·dγ/M);  eval: dx = γ·invstd·dy.
 * Written per channel as dx = a·dy + b·(x − μ) + d (x − μ rather than x, to avoid cancellation).
 */
export function bn_bwd_dx(x: usize, dy: usize, mean: usize, vari: usize, gamma: usize, dgamma: usize, dbeta: usize, dx: usize,
  N: i32, C: i32, HW: i32, eps: f32, training: i32): void {
  const M: f32 = <f32>N * <f32>HW;
  share2(N >= threadCount(), N, 1, C, 1);
  const n0 = lo0, n1 = hi0, c0 = lo1, c1 = hi1;
  for (let n = n0; n < n1; n++) {
    for (let c = c0; c < c1; c++) {
      const o4 = <usize>c << 2;
      const mu = load<f32>(mean + o4);
      const invstd: f32 = 1 / Mathf.sqrt(load<f32>(vari + o4) + eps);
      const a: f32 = load<f32>(gamma + o4) * invstd;
      let b: f32 = 0;
      let d: f32 = 0;
      if (training) {
        b = -a * invstd * load<f32>(dgamma + o4) / M;
        d = -a * load<f32>(dbeta + o4) / M;
      }
      const av = f32x4.splat(a);
      const bv = f32x4.splat(b);
      const dv = f32x4.splat(d);
      const muv = f32x4.splat(mu);
      const o = <usize>((n * C + c) * HW) << 2;
      let i = 0;
      for (; i + 4 <= HW; i += 4) {
        const q = o + (<usize>i << 2);
        v128.store(dx + q, f32x4.add(f32x4.add(f32x4.mul(av, v128.load(dy + q)), f32x4.mul(bv, f32x4.sub(v128.load(x + q), muv))), dv));
      }
      for (; i < HW; i++) {
        const q = o + (<usize>i << 2);
        store<f32>(dx + q, a * load<f32>(dy + q) + b * (load<f32>(x + q) - mu) + d);
      }
    }
  }
}
