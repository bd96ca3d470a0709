// Dropout and its Philox4x32-10 stream (twin of wgsl/dropout.wgsl; op in engine/ops/dropout.ts).
// Element i takes word i mod 4 of the Philox block of counter ⌊i/4⌋; threads take contiguous
// ranges aligned to 16 elements, so a block is never split, and the bits of an element depend only
// on the key and i: the same on every thread count and on WebGPU.

import { share, shareHi, shareLo } from './parallel';

const M0: u32 = 0xD2511F53;
const M1: u32 = 0xCD9E8D57;
const W0: u32 = 0x9E3779B9;
const W1: u32 = 0xBB67AE85;

// The four words of the last block (per instance, so per thread).
let r0: u32 = 0;
let r1: u32 = 0;
let r2: u32 = 0;
let r3: u32 = 0;

/** Philox4x32-10 of counter (c0, c1, c2, c3) under key (k0, k1), into r0…r3. */
function philox(c0: u32, c1: u32, c2: u32, c3: u32, k0: u32, k1: u32): void {
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 += W0;
      k1 += W1;
    }
    const p0 = <u64>M0 * <u64>c0;
    const p1 = <u64>M1 * <u64>c2;
    const n0 = <u32>(p1 >> 32) ^ c1 ^ k0;
    const n2 = <u32>(p0 >> 32) ^ c3 ^ k1;
    c1 = <u32>p1;
    c3 = <u32>p0;
    c0 = n0;
    c2 = n2;
  }
  r0 = c0;
  r1 = c1;
  r2 = c2;
  r3 = c3;
}

@inline function word(j: i32): u32 {
  return j == 0 ? r0 : j == 1 ? r1 : j == 2 ? r2 : r3;
}

/** y = x · (bits ≥ drop ? scale : 0); also dx = dy · (…) with the same key. */
export function dropout_apply(x: usize, y: usize, n: i32, k0: u32, k1: u32, drop: u32, scale: f32): void {
  share(n, 16);
  const lo = shareLo;
  const hi = shareHi;
  const dropV = i32x4.splat(drop);
  const scaleV = f32x4.splat(scale);
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    philox(<u32>i >> 2, 0, 0, 0, k0, k1);
    let w = i32x4.splat(r0);
    w = i32x4.replace_lane(w, 1, r1);
    w = i32x4.replace_lane(w, 2, r2);
    w = i32x4.replace_lane(w, 3, r3);
    // x · (keep ? scale : 0), not a select of x: a dropped NaN stays NaN, as in PyTorch.
    const m = v128.and(scaleV, i32x4.ge_u(w, dropV));
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.mul(v128.load(x + o), m));
  }
  if (i < hi) philox(<u32>i >> 2, 0, 0, 0, k0, k1);
  for (; i < hi; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(x + o) * (word(i & 3) >= drop ? scale : 0));
  }
}

/** y[i] = word i mod 4 of Philox4x32-10(counter c + ⌊i/4⌋ as a 128-bit add, key k). */
export function dropout_bits(y: usize, n: i32, c0: u32, c1: u32, c2: u32, c3: u32, k0: u32, k1: u32): void {
  share(n, 16);
  for (let i = shareLo; i < shareHi; i++) {
    if (i == shareLo || (i & 3) == 0) {
      const b = <u32>i >> 2;
      const x0 = c0 + b;
      let carry: u32 = x0 < b ? 1 : 0;
      const x1 = c1 + carry;
      carry = x1 < carry ? 1 : 0;
      const x2 = c2 + carry;
      carry = x2 < carry ? 1 : 0;
      philox(x0, x1, x2, c3 + carry, k0, k1);
    }
    store<u32>(y + (<usize>i << 2), word(i & 3));
  }
}
