// ReLU kernels (twin of wgsl/relu.wgsl; op in engine/ops/relu.ts). Threads take contiguous ranges.

import { share, shareHi, shareLo } from './parallel';

export function relu_fwd(x: usize, y: usize, n: i32): void {
  share(n, 16);
  const lo = <usize>shareLo << 2;
  x += lo;
  y += lo;
  n = shareHi - shareLo;
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.max(v128.load(x + o), z));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, max<f32>(v, 0)); // NaN stays NaN, as f32x4.max above
  }
}

/** dx = x > 0 ? dy : 0. */
export function relu_bwd(x: usize, dy: usize, dx: usize, n: i32): void {
  share(n, 16);
  const lo = <usize>shareLo << 2;
  x += lo;
  dy += lo;
  dx += lo;
  n = shareHi - shareLo;
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const m = f32x4.gt(v128.load(x + o), z);
    v128.store(dx + o, v128.and(v128.load(dy + o), m));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(x + o) > 0 ? load<f32>(dy + o) : 0);
  }
}
