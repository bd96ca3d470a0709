// Elementwise kernels (twin of wgsl/elementwise.wgsl; ops in engine/ops/elementwise.ts).
// Broadcast kernels walk the output in row-major order over dims d0..d5; a0..a5 and b0..b5 are the element strides
// of the two inputs (0 along broadcast dims). contig = 1 means a, b and y have the same shape.
// Bodies are f32x4 SIMD with a scalar tail. Threads take contiguous ranges of the output (multiples
// of 16 elements) or, when broadcasting, ranges of output rows; nothing is reduced.

import { share, shareHi, shareLo } from './parallel';

const ADD: i32 = 0;
const SUB: i32 = 1;
const MUL: i32 = 2;

@inline function apply(op: i32, x: f32, y: f32): f32 {
  return op == ADD ? x + y : op == SUB ? x - y : x * y;
}

@inline function applyV(op: i32, x: v128, y: v128): v128 {
  return op == ADD ? f32x4.add(x, y) : op == SUB ? f32x4.sub(x, y) : f32x4.mul(x, y);
}

// One innermost row: y[0..n) = a[i·sa] ⊕ b[i·sb].
@inline function row(op: i32, a: usize, b: usize, y: usize, n: i32, sa: i32, sb: i32): void {
  let i = 0;
  if (sa == 1 && sb == 1) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, applyV(op, v128.load(a + o), v128.load(b + o)));
    }
  } else if (sa == 1 && sb == 0) {
    const bv = f32x4.splat(load<f32>(b));
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, applyV(op, v128.load(a + o), bv));
    }
  } else if (sa == 0 && sb == 1) {
    const av = f32x4.splat(load<f32>(a));
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, applyV(op, av, v128.load(b + o)));
    }
  }
  for (; i < n; i++) {
    store<f32>(y + (<usize>i << 2), apply(op, load<f32>(a + (<usize>(i * sa) << 2)), load<f32>(b + (<usize>(i * sb) << 2))));
  }
}

@inline function broadcast(
  op: i32, a: usize, b: usize, y: usize, n: i32, contig: i32,
  d0: i32, d1: i32, d2: i32, d3: i32, d4: i32, d5: i32,
  a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32,
  b0: i32, b1: i32, b2: i32, b3: i32, b4: i32, b5: i32,
): void {
  if (contig) {
    share(n, 16);
    const o = <usize>shareLo << 2;
    row(op, a + o, b + o, y + o, shareHi - shareLo, 1, 1);
    return;
  }
  // This thread's output rows [lo, hi) of the d0·d1·d2·d3·d4 rows of length d5.
  share(d0 * d1 * d2 * d3 * d4, 1);
  let r = shareLo;
  const rows = shareHi - shareLo;
  let i4 = r % d4;
  r /= d4;
  let i3 = r % d3;
  r /= d3;
  let i2 = r % d2;
  r /= d2;
  let i1 = r % d1;
  let i0 = r / d1;
  let out = y + (<usize>shareLo * <usize>d5 << 2);
  for (let t = 0; t < rows; t++) {
    const ao = i0 * a0 + i1 * a1 + i2 * a2 + i3 * a3 + i4 * a4;
    const bo = i0 * b0 + i1 * b1 + i2 * b2 + i3 * b3 + i4 * b4;
    row(op, a + (<usize>ao << 2), b + (<usize>bo << 2), out, d5, a5, b5);
    out += <usize>d5 << 2;
    if (++i4 == d4) {
      i4 = 0;
      if (++i3 == d3) {
        i3 = 0;
        if (++i2 == d2) {
          i2 = 0;
          if (++i1 == d1) {
            i1 = 0;
            i0++;
          }
        }
      }
    }
  }
}

export function ew_add(a: usize, b: usize, y: usize, n: i32, contig: i32,
  d0: i32, d1: i32, d2: i32, d3: i32, d4: i32, d5: i32,
  a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32,
  b0: i32, b1: i32, b2: i32, b3: i32, b4: i32, b5: i32): void {
  broadcast(ADD, a, b, y, n, contig, d0, d1, d2, d3, d4, d5, a0, a1, a2, a3, a4, a5, b0, b1, b2, b3, b4, b5);
}

export function ew_sub(a: usize, b: usize, y: usize, n: i32, contig: i32,
  d0: i32, d1: i32, d2: i32, d3: i32, d4: i32, d5: i32,
  a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32,
  b0: i32, b1: i32, b2: i32, b3: i32, b4: i32, b5: i32): void {
  broadcast(SUB, a, b, y, n, contig, d0, d1, d2, d3, d4, d5, a0, a1, a2, a3, a4, a5, b0, b1, b2, b3, b4, b5);
}

export function ew_mul(a: usize, b: usize, y: usize, n: i32, contig: i32,
  d0: i32, d1: i32, d2: i32, d3: i32, d4: i32, d5: i32,
  a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32,
  b0: i32, b1: i32, b2: i32, b3: i32, b4: i32, b5: i32): void {
  broadcast(MUL, a, b, y, n, contig, d0, d1, d2, d3, d4, d5, a0, a1, a2, a3, a4, a5, b0, b1, b2, b3, b4, b5);
}

/** y = alpha·x + beta. */
export function ew_affine(x: usize, y: usize, n: i32, alpha: f32, beta: f32): void {
  share(n, 16);
  const lo = <usize>shareLo << 2;
  x += lo;
  y += lo;
  n = shareHi - shareLo;
  const av = f32x4.splat(alpha);
  const bv = f32x4.splat(beta);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(f32x4.mul(v128.load(x + o), av), bv));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(x + o) * alpha + beta);
  }
}

export function ew_square(x: usize, y: usize, n: i32): void {
  share(n, 16);
  const lo = <usize>shareLo << 2;
  x += lo;
  y += lo;
  n = shareHi - shareLo;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(y + o, f32x4.mul(v, v));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v * v);
  }
}

/** dx = 2·x·dy. */
export function ew_square_bwd(x: usize, dy: usize, dx: usize, n: i32): void {
  share(n, 16);
  const lo = <usize>shareLo << 2;
  x += lo;
  dy += lo;
  dx += lo;
  n = shareHi - shareLo;
  const two = f32x4.splat(2);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, f32x4.mul(f32x4.mul(two, v128.load(x + o)), v128.load(dy + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, 2 * load<f32>(x + o) * load<f32>(dy + o));
  }
}

export function ew_fill(y: usize, n: i32, value: f32): void {
  share(n, 16);
  const lo = <usize>shareLo << 2;
  y += lo;
  n = shareHi - shareLo;
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), v);
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), value);
}

export function ew_copy(x: usize, y: usize, n: i32): void {
  share(n, 16);
  const lo = <usize>shareLo << 2;
  x += lo;
  y += lo;
  n = shareHi - shareLo;
  memory.copy(y, x, <usize>n << 2);
}
