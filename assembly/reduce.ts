// Reduction kernels (twin of wgsl/reduce.wgsl; ops in engine/ops/reduce.ts).
// Order: 16 f32 partial sums (4 × f32x4) over blocks of 64 elements, each block total added into an
// f64 accumulator in block order. Fixed for a given n: same input, same bits.
// Threads: the full reductions and reduce_to run on thread 0 alone (splitting them would split a
// reduction); the broadcasts back (…_bwd) split their output range.

import { share, shareHi, shareLo, threadIndex } from './parallel';

@inline function blockSum(x: usize, n: i32, squares: bool): f64 {
  let total: f64 = 0;
  let i = 0;
  for (; i + 64 <= n; i += 64) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    for (let j = 0; j < 64; j += 16) {
      const p = x + (<usize>(i + j) << 2);
      let v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
      if (squares) {
        v0 = f32x4.mul(v0, v0); v1 = f32x4.mul(v1, v1); v2 = f32x4.mul(v2, v2); v3 = f32x4.mul(v3, v3);
      }
      s0 = f32x4.add(s0, v0); s1 = f32x4.add(s1, v1); s2 = f32x4.add(s2, v2); s3 = f32x4.add(s3, v3);
    }
    const s = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
    total += <f64>(f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
  }
  let tail: f32 = 0;
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    tail += squares ? v * v : v;
  }
  return total + <f64>tail;
}

/** y[0] = scale · Σ x. */
export function reduce_sum(x: usize, y: usize, n: i32, scale: f32): void {
  if (threadIndex() != 0) return;
  store<f32>(y, <f32>(blockSum(x, n, false) * <f64>scale));
}

/** y[0] = scale · Σ x². */
export function reduce_sumsq(x: usize, y: usize, n: i32, scale: f32): void {
  if (threadIndex() != 0) return;
  store<f32>(y, <f32>(blockSum(x, n, true) * <f64>scale));
}

/** dx[i] = scale · dy[0]. */
export function reduce_sum_bwd(dy: usize, dx: usize, n: i32, scale: f32): void {
  share(n, 16);
  const lo = <usize>shareLo << 2;
  dx += lo;
  n = shareHi - shareLo;
  const v: f32 = load<f32>(dy) * scale;
  const vv = f32x4.splat(v);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dx + (<usize>i << 2), vv);
  for (; i < n; i++) store<f32>(dx + (<usize>i << 2), v);
}

/** dx[i] = 2 · scale · x[i] · dy[0]. */
export function reduce_sumsq_bwd(x: usize, dy: usize, dx: usize, n: i32, scale: f32): void {
  share(n, 16);
  const lo = <usize>shareLo << 2;
  x += lo;
  dx += lo;
  n = shareHi - shareLo;
  const c: f32 = 2 * scale * load<f32>(dy);
  const cv = f32x4.splat(c);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, f32x4.mul(v128.load(x + o), cv));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(x + o) * c);
  }
}

/**
 * y[j] = Σ x[i] over the i that map to j. x has dims d0..d5; element (i0..i5) maps to y[Σ ik·sk]
 * (sk = 0 along summed dims). x is walked in row-major order; each innermost row is summed first
 * (when it is a summed dim) and then added to its output, so the order is fixed.
 */
export function reduce_to(x: usize, y: usize, n: i32, nout: i32,
  d0: i32, d1: i32, d2: i32, d3: i32, d4: i32, d5: i32,
  s0: i32, s1: i32, s2: i32, s3: i32, s4: i32, s5: i32): void {
  if (threadIndex() != 0) return;
  memory.fill(y, 0, <usize>nout << 2);
  let p = x;
  for (let i0 = 0; i0 < d0; i0++)
    for (let i1 = 0; i1 < d1; i1++)
      for (let i2 = 0; i2 < d2; i2++)
        for (let i3 = 0; i3 < d3; i3++)
          for (let i4 = 0; i4 < d4; i4++) {
            const o = y + (<usize>(i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3 + i4 * s4) << 2);
            if (s5 == 0) {
              store<f32>(o, load<f32>(o) + <f32>blockSum(p, d5, false));
            } else {
              for (let i5 = 0; i5 < d5; i5++) {
                const q = o + (<usize>(i5 * s5) << 2);
                store<f32>(q, load<f32>(q) + load<f32>(p + (<usize>i5 << 2)));
              }
            }
            p += <usize>d5 << 2;
          }
}
