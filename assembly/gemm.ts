// The GEMM core shared by matmul and conv2d: C[M,N] (+)= A[M,D]·B[D,N] with packed panels, cache
// blocking and an f32x4 register-blocked micro-kernel (the BLIS scheme).
//
// Letters: C is M×N (row-major, row stride ldc), D is the reduction length. Blocks: D is cut into
// KC-long slices, N into NC-wide and M into MC-tall blocks. For each (NC block, KC slice) B is packed
// into NR-wide column panels (for each d, NR consecutive values); for each MC block A is packed into
// MR-tall row panels (for each d, MR consecutive values). The micro-kernel multiplies one A panel by
// one B panel: an MR×NR tile of C held in 8 f32x4 registers over the KC slice.
//
// Blocking on this CPU class (AMD EPYC, 48 KiB L1d, 1 MiB L2 per core): a B micro-panel (KC·NR·4 =
// 8 KiB) and an A micro-panel (4 KiB) stay in L1, the packed A block (MC·KC·4 = 128 KiB) in L2, the
// packed B block (KC·NC·4 ≤ 1 MiB) in L2/L3. 4×8 is the largest tile that fits V8's 16 XMM registers
// without spills (8 accumulators, 2 B vectors, 1 broadcast, 1 product): 5×8 and 6×8 measured at half
// the speed of 4×8.
//
// Operands are not plain matrices only: `aMode`/`bMode` say how a panel is gathered (row-major,
// transposed, flipped conv weights, implicit im2col of a padded image and its transpose), so conv2d
// never materialises its im2col matrix.
//
// Determinism: for one C element the arithmetic is fixed by KC alone (products summed in d order
// within a slice from 0, then added to the C value of the previous slices); it does not depend on MC,
// NC, the tile position or the thread, so any partition of C over threads gives the same bits.
//
// Not handled: anything but f32; there is no FMA (relaxed SIMD needs a flag in Node 20).

import { scratchBase } from './parallel';

export const MR: i32 = 4;
export const NR: i32 = 8;
export const MC: i32 = 128;
export const KC: i32 = 256;
export const NC: i32 = 1024;

/** A[i,d] = a[i·lda + d]. */
export const A_ROW: i32 = 0;
/** A[i,d] = a[d·lda + i] (A stored transposed). */
export const A_COL: i32 = 1;
/** conv2d dx weights: A[c, (k,r,s)] = w[k, c, R−1−r, S−1−s] for w [K',C',R,S] (C' = gWC). */
export const A_WFLIP: i32 = 2;
/** Already packed by `prepackA` (aLd = the packed row span): reused across a conv's images. */
export const A_PACKED: i32 = 3;

/** B[d,j] = b[d·ldb + j]. */
export const B_ROW: i32 = 0;
/** B[d,j] = b[j·ldb + d] (B stored transposed). */
export const B_COL: i32 = 1;
/** Implicit im2col: B[(c,r,s), (p,q)] = img[c, p·sh + r, q·sw + s] of a padded image [C, Hp, Wp]. */
export const B_IM2COL: i32 = 2;
/** Its transpose: B[(p,q), (c,r,s)]. */
export const B_IM2COLT: i32 = 3;

// Operand descriptors of the current call (module globals: one set per thread instance).
let aMode: i32 = A_ROW;
let aPtr: usize = 0;
let aLd: i32 = 0;
let bMode: i32 = B_ROW;
let bPtr: usize = 0;
let bLd: i32 = 0;
// im2col geometry (B_IM2COL, B_IM2COLT) and flipped-weight geometry (A_WFLIP).
let gWC: i32 = 0;
let gHp: i32 = 0;
let gWp: i32 = 0;
let gR: i32 = 0;
let gS: i32 = 0;
let gSh: i32 = 1;
let gSw: i32 = 1;
let gQ: i32 = 0;
// Byte offsets c·Hp·Wp + r·Wp + s of each im2col row d (B_IM2COL with strideW 1), or 0: with it the
// micro-kernel reads B straight from the padded image and B is not packed at all.
let gTable: usize = 0;

export function setA(mode: i32, ptr: usize, ld: i32): void {
  aMode = mode;
  aPtr = ptr;
  aLd = ld;
}

export function setB(mode: i32, ptr: usize, ld: i32): void {
  bMode = mode;
  bPtr = ptr;
  bLd = ld;
}

/**
 * Geometry for the im2col modes: a padded image with planes Hp×Wp, kernel R×S, strides, output width
 * Q; wC: the second dimension of the weights A_WFLIP reads.
 */
export function setConvGeometry(wC: i32, Hp: i32, Wp: i32, R: i32, S: i32, sh: i32, sw: i32, Q: i32): void {
  gWC = wC;
  gHp = Hp;
  gWp = Wp;
  gR = R;
  gS = S;
  gSh = sh;
  gSw = sw;
  gQ = Q;
}

/**
 * B_IM2COL with unit column stride: builds the row-offset table (D i32 at `dst`, from the geometry
 * set by setConvGeometry) and makes the GEMM read 8-column panels that lie in one output row straight
 * from the image. `dst` = 0 switches this off.
 */
export function setIm2colTable(dst: usize, D: i32): void {
  gTable = dst;
  if (dst == 0) return;
  const HpWp = gHp * gWp;
  let c = 0, r = 0, s = 0;
  for (let d = 0; d < D; d++) {
    store<i32>(dst + (<usize>d << 2), (c * HpWp + r * gWp + s) << 2);
    if (++s == gS) {
      s = 0;
      if (++r == gR) {
        r = 0;
        c++;
      }
    }
  }
}

/** Whether the B_IM2COL panel of columns [j, j+cols) is read in place (see setIm2colTable). */
@inline function directPanel(j: i32, cols: i32): bool {
  if (gTable == 0 || cols != NR) return false;
  const q0 = j % gQ;
  return q0 + NR <= gQ;
}

/** Bytes `prepackA` fills for rows [i0, i1) over the reduction D. */
export function packedABytes(i0: i32, i1: i32, D: i32): usize {
  return <usize>roundUp(max<i32>(0, i1 - i0), MR) * <usize>D << 2;
}

/**
 * Packs rows [i0, i1) of the current A operand over the whole reduction D into `dst`, slice by KC
 * slice, and switches A to A_PACKED: conv2d packs its weights once per call instead of once per image.
 */
export function prepackA(i0: i32, i1: i32, D: i32, dst: usize): void {
  const span = roundUp(max<i32>(0, i1 - i0), MR);
  for (let pc = 0; pc < D; pc += KC) {
    const kc = min<i32>(KC, D - pc);
    packA(i0, i1 - i0, pc, kc, dst + (<usize>pc * <usize>span << 2));
  }
  setA(A_PACKED, dst, span);
}

@inline function roundUp(x: i32, m: i32): i32 {
  return (x + m - 1) / m * m;
}

// Scratch layout of one gemm call: [tile 4×8 floats][column offsets 8 × i32][A block][B block].
const TILE_BYTES: usize = 128;
const OFFS_BYTES: usize = 64;

/** Bytes of scratch `gemm` needs for an M×N×D problem (any sub-range of it). */
export function gemmScratchBytes(M: i32, N: i32, D: i32): usize {
  const kc = <usize>max<i32>(1, min<i32>(KC, D));
  const mc = <usize>roundUp(max<i32>(1, min<i32>(MC, M)), MR);
  const nc = <usize>roundUp(max<i32>(1, min<i32>(NC, N)), NR);
  return TILE_BYTES + OFFS_BYTES + ((mc * kc + kc * nc) << 2);
}

@inline function transposeStore(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + stride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

// ---- packing A: rows [i0, i0+mc) × reduction [d0, d0+kc) → ⌈mc/MR⌉ panels of kc×MR -----------------

function packA(i0: i32, mc: i32, d0: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min<i32>(MR, mc - ir);
    const i = i0 + ir;
    if (aMode == A_ROW) {
      if (rows == MR) {
        const ld = <usize>aLd << 2;
        const r0 = aPtr + ((<usize>i * <usize>aLd + <usize>d0) << 2);
        let d = 0;
        for (; d + 4 <= kc; d += 4) {
          const o = <usize>d << 2;
          transposeStore(v128.load(r0 + o), v128.load(r0 + ld + o), v128.load(r0 + 2 * ld + o), v128.load(r0 + 3 * ld + o), dst + (<usize>d << 4), 16);
        }
        for (; d < kc; d++) {
          const o = <usize>d << 2;
          const q = dst + (<usize>d << 4);
          store<f32>(q, load<f32>(r0 + o));
          store<f32>(q, load<f32>(r0 + ld + o), 4);
          store<f32>(q, load<f32>(r0 + 2 * ld + o), 8);
          store<f32>(q, load<f32>(r0 + 3 * ld + o), 12);
        }
      } else {
        for (let d = 0; d < kc; d++) {
          const q = dst + (<usize>d << 4);
          v128.store(q, f32x4.splat(0));
          for (let t = 0; t < rows; t++) store<f32>(q + (<usize>t << 2), load<f32>(aPtr + ((<usize>(i + t) * <usize>aLd + <usize>(d0 + d)) << 2)));
        }
      }
    } else if (aMode == A_COL) {
      const ld = <usize>aLd << 2;
      let src = aPtr + ((<usize>d0 * <usize>aLd + <usize>i) << 2);
      if (rows == MR) {
        for (let d = 0; d < kc; d++) {
          v128.store(dst + (<usize>d << 4), v128.load(src));
          src += ld;
        }
      } else {
        for (let d = 0; d < kc; d++) {
          const q = dst + (<usize>d << 4);
          v128.store(q, f32x4.splat(0));
          for (let t = 0; t < rows; t++) store<f32>(q + (<usize>t << 2), load<f32>(src + (<usize>t << 2)));
          src += ld;
        }
      }
    } else {
      // A_WFLIP: A[c, d] with d = (k, rs): w[(k·C' + c)·RS + RS−1−rs]; rows c are RS apart.
      const RS = gR * gS;
      let k = d0 / RS;
      let rs = d0 - k * RS;
      const cstride = <usize>RS << 2;
      for (let d = 0; d < kc; d++) {
        const q = dst + (<usize>d << 4);
        const src = aPtr + ((<usize>(k * gWC + i) * <usize>RS + <usize>(RS - 1 - rs)) << 2);
        if (rows == MR) {
          store<f32>(q, load<f32>(src));
          store<f32>(q, load<f32>(src + cstride), 4);
          store<f32>(q, load<f32>(src + 2 * cstride), 8);
          store<f32>(q, load<f32>(src + 3 * cstride), 12);
        } else {
          v128.store(q, f32x4.splat(0));
          for (let t = 0; t < rows; t++) store<f32>(q + (<usize>t << 2), load<f32>(src + <usize>t * cstride));
        }
        if (++rs == RS) {
          rs = 0;
          k++;
        }
      }
    }
    dst += <usize>kc << 4;
  }
}

// ---- packing B: reduction [d0, d0+kc) × columns [j0, j0+nc) → ⌈nc/NR⌉ panels of kc×NR -----------

/** Four consecutive output positions (p, q..q+3) of im2col row `base` (= c·Hp·Wp + r·Wp + s). */
@inline function im2col4(img: usize, base: i32, p: i32, q: i32): v128 {
  const off = base + p * gSh * gWp + q * gSw;
  if (gSw == 1) return v128.load(img + (<usize>off << 2));
  if (gSw == 2) {
    // Lanes 0,2,4,6 of 8 values; the read may run one float past the row (the image has slack).
    const s = img + (<usize>off << 2);
    return v128.shuffle<f32>(v128.load(s), v128.load(s, 16), 0, 2, 4, 6);
  }
  const s = img + (<usize>off << 2);
  const st = <usize>gSw << 2;
  let v = f32x4.splat(load<f32>(s));
  v = f32x4.replace_lane(v, 1, load<f32>(s + st));
  v = f32x4.replace_lane(v, 2, load<f32>(s + 2 * st));
  return f32x4.replace_lane(v, 3, load<f32>(s + 3 * st));
}

function packB(d0: i32, kc: i32, j0: i32, nc: i32, dst: usize, offs: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min<i32>(NR, nc - jr);
    const j = j0 + jr;
    if (bMode == B_ROW) {
      let src = bPtr + ((<usize>d0 * <usize>bLd + <usize>j) << 2);
      const ld = <usize>bLd << 2;
      if (cols == NR) {
        for (let d = 0; d < kc; d++) {
          const q = dst + (<usize>d << 5);
          v128.store(q, v128.load(src));
          v128.store(q, v128.load(src, 16), 16);
          src += ld;
        }
      } else {
        for (let d = 0; d < kc; d++) {
          const q = dst + (<usize>d << 5);
          v128.store(q, f32x4.splat(0));
          v128.store(q, f32x4.splat(0), 16);
          for (let t = 0; t < cols; t++) store<f32>(q + (<usize>t << 2), load<f32>(src + (<usize>t << 2)));
          src += ld;
        }
      }
    } else if (bMode == B_COL) {
      const ld = <usize>bLd << 2;
      const r0 = bPtr + ((<usize>j * <usize>bLd + <usize>d0) << 2);
      if (cols == NR) {
        let d = 0;
        for (; d + 4 <= kc; d += 4) {
          const o = <usize>d << 2;
          const q = dst + (<usize>d << 5);
          transposeStore(v128.load(r0 + o), v128.load(r0 + ld + o), v128.load(r0 + 2 * ld + o), v128.load(r0 + 3 * ld + o), q, 32);
          const r4 = r0 + 4 * ld + o;
          transposeStore(v128.load(r4), v128.load(r4 + ld), v128.load(r4 + 2 * ld), v128.load(r4 + 3 * ld), q + 16, 32);
        }
        for (; d < kc; d++) {
          const q = dst + (<usize>d << 5);
          for (let t = 0; t < NR; t++) store<f32>(q + (<usize>t << 2), load<f32>(r0 + <usize>t * ld + (<usize>d << 2)));
        }
      } else {
        for (let d = 0; d < kc; d++) {
          const q = dst + (<usize>d << 5);
          v128.store(q, f32x4.splat(0));
          v128.store(q, f32x4.splat(0), 16);
          for (let t = 0; t < cols; t++) store<f32>(q + (<usize>t << 2), load<f32>(r0 + <usize>t * ld + (<usize>d << 2)));
        }
      }
    } else if (bMode == B_IM2COL) {
      if (!directPanel(j, cols)) packIm2col(d0, kc, j, cols, dst, offs);
    } else {
      packIm2colT(d0, kc, j, cols, dst);
    }
    dst += <usize>kc << 5;
  }
}

/** B_IM2COL panel: rows d = (c,r,s) from d0, columns (p,q) = j..j+cols−1. */
function packIm2col(d0: i32, kc: i32, j: i32, cols: i32, dst: usize, offs: usize): void {
  const img = bPtr;
  const Q = gQ;
  const RS = gR * gS;
  const HpWp = gHp * gWp;
  const p0 = j / Q;
  const q0 = j - p0 * Q;
  let c = d0 / RS;
  let rs = d0 - c * RS;
  let r = rs / gS;
  let s = rs - r * gS;
  if (cols == NR && q0 + NR <= Q) {
    // All 8 columns in one output row: two strided 4-wide reads per reduction row.
    for (let d = 0; d < kc; d++) {
      const base = c * HpWp + r * gWp + s;
      const q = dst + (<usize>d << 5);
      v128.store(q, im2col4(img, base, p0, q0));
      v128.store(q, im2col4(img, base, p0, q0 + 4), 16);
      if (++s == gS) {
        s = 0;
        if (++r == gR) {
          r = 0;
          c++;
        }
      }
    }
    return;
  }
  // Columns straddle output rows (or run past N): per-column offsets, −1 for padding columns.
  let p = p0;
  let qq = q0;
  for (let t = 0; t < NR; t++) {
    store<i32>(offs + (<usize>t << 2), t < cols ? p * gSh * gWp + qq * gSw : -1);
    if (++qq == Q) {
      qq = 0;
      p++;
    }
  }
  for (let d = 0; d < kc; d++) {
    const base = c * HpWp + r * gWp + s;
    const q = dst + (<usize>d << 5);
    for (let t = 0; t < NR; t++) {
      const o = load<i32>(offs + (<usize>t << 2));
      store<f32>(q + (<usize>t << 2), o >= 0 ? load<f32>(img + (<usize>(base + o) << 2)) : 0);
    }
    if (++s == gS) {
      s = 0;
      if (++r == gR) {
        r = 0;
        c++;
      }
    }
  }
}

/** B_IM2COLT panel: rows d = (p,q) from d0, columns (c,r,s) = j..j+cols−1. */
function packIm2colT(d0: i32, kc: i32, j: i32, cols: i32, dst: usize): void {
  const img = bPtr;
  const Q = gQ;
  const RS = gR * gS;
  const HpWp = gHp * gWp;
  // Image offsets of the 8 columns' (c, r, s); padding columns read column 0 and are zeroed after.
  let c = j / RS;
  let rs = j - c * RS;
  let r = rs / gS;
  let s = rs - r * gS;
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0, b7 = 0;
  for (let t = 0; t < cols; t++) {
    const b = c * HpWp + r * gWp + s;
    if (t == 0) b0 = b;
    else if (t == 1) b1 = b;
    else if (t == 2) b2 = b;
    else if (t == 3) b3 = b;
    else if (t == 4) b4 = b;
    else if (t == 5) b5 = b;
    else if (t == 6) b6 = b;
    else b7 = b;
    if (++s == gS) {
      s = 0;
      if (++r == gR) {
        r = 0;
        c++;
      }
    }
  }
  if (cols < 8) b7 = b0;
  if (cols < 7) b6 = b0;
  if (cols < 6) b5 = b0;
  if (cols < 5) b4 = b0;
  if (cols < 4) b3 = b0;
  if (cols < 3) b2 = b0;
  if (cols < 2) b1 = b0;
  let p = d0 / Q;
  let q = d0 - p * Q;
  let d = 0;
  if (gSw == 1) {
    // Unit column stride: four positions of one output row are one unaligned f32x4 per column; the
    // column pointers are fixed, only the row offset moves.
    const i0 = img + (<usize>b0 << 2), i1 = img + (<usize>b1 << 2), i2 = img + (<usize>b2 << 2), i3 = img + (<usize>b3 << 2);
    const i4 = img + (<usize>b4 << 2), i5 = img + (<usize>b5 << 2), i6 = img + (<usize>b6 << 2), i7 = img + (<usize>b7 << 2);
    const rowStep = gSh * gWp;
    let rowOff = p * rowStep;
    for (; d + 4 <= kc && q + 4 <= Q; d += 4) {
      const o = <usize>(rowOff + q) << 2;
      const dq = dst + (<usize>d << 5);
      transposeStore(v128.load(i0 + o), v128.load(i1 + o), v128.load(i2 + o), v128.load(i3 + o), dq, 32);
      transposeStore(v128.load(i4 + o), v128.load(i5 + o), v128.load(i6 + o), v128.load(i7 + o), dq + 16, 32);
      q += 4;
      if (q == Q) {
        q = 0;
        p++;
        rowOff += rowStep;
      }
    }
  }
  for (; d + 4 <= kc; d += 4) {
    const dq = dst + (<usize>d << 5);
    if (q + 4 <= Q) {
      transposeStore(im2col4(img, b0, p, q), im2col4(img, b1, p, q), im2col4(img, b2, p, q), im2col4(img, b3, p, q), dq, 32);
      transposeStore(im2col4(img, b4, p, q), im2col4(img, b5, p, q), im2col4(img, b6, p, q), im2col4(img, b7, p, q), dq + 16, 32);
      q += 4;
      if (q == Q) {
        q = 0;
        p++;
      }
    } else {
      for (let u = 0; u < 4; u++) {
        const off = p * gSh * gWp + q * gSw;
        const o = dq + (<usize>u << 5);
        v128.store(o, f32x4(load<f32>(img + (<usize>(b0 + off) << 2)), load<f32>(img + (<usize>(b1 + off) << 2)), load<f32>(img + (<usize>(b2 + off) << 2)), load<f32>(img + (<usize>(b3 + off) << 2))));
        v128.store(o, f32x4(load<f32>(img + (<usize>(b4 + off) << 2)), load<f32>(img + (<usize>(b5 + off) << 2)), load<f32>(img + (<usize>(b6 + off) << 2)), load<f32>(img + (<usize>(b7 + off) << 2))), 16);
        if (++q == Q) {
          q = 0;
          p++;
        }
      }
    }
  }
  for (; d < kc; d++) {
    const off = p * gSh * gWp + q * gSw;
    const o = dst + (<usize>d << 5);
    v128.store(o, f32x4(load<f32>(img + (<usize>(b0 + off) << 2)), load<f32>(img + (<usize>(b1 + off) << 2)), load<f32>(img + (<usize>(b2 + off) << 2)), load<f32>(img + (<usize>(b3 + off) << 2))));
    v128.store(o, f32x4(load<f32>(img + (<usize>(b4 + off) << 2)), load<f32>(img + (<usize>(b5 + off) << 2)), load<f32>(img + (<usize>(b6 + off) << 2)), load<f32>(img + (<usize>(b7 + off) << 2))), 16);
    if (++q == Q) {
      q = 0;
      p++;
    }
  }
  if (cols < NR) {
    // Zero the padding columns.
    for (let dd = 0; dd < kc; dd++) {
      const o = dst + (<usize>dd << 5);
      for (let t = cols; t < NR; t++) store<f32>(o + (<usize>t << 2), 0);
    }
  }
}

// ---- micro-kernel ----------------------------------------------------------------------------------

/** The micro-kernels' epilogue: C rows (c, +ldc, …) ← the 4×8 accumulators (+ C when `acc`). */
@inline function storeTile(c: usize, ldc: usize, acc: bool, c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128): void {
  const c1 = c + ldc;
  const c2 = c1 + ldc;
  const c3 = c2 + ldc;
  if (acc) {
    c00 = f32x4.add(c00, v128.load(c));
    c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c1));
    c11 = f32x4.add(c11, v128.load(c1, 16));
    c20 = f32x4.add(c20, v128.load(c2));
    c21 = f32x4.add(c21, v128.load(c2, 16));
    c30 = f32x4.add(c30, v128.load(c3));
    c31 = f32x4.add(c31, v128.load(c3, 16));
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c1, c10);
  v128.store(c1, c11, 16);
  v128.store(c2, c20);
  v128.store(c2, c21, 16);
  v128.store(c3, c30);
  v128.store(c3, c31, 16);
}

/** C[4×8 at c, row stride ldc bytes] (+)= Apanel(kc×4)ᵀ·Bpanel(kc×8). */
@inline function micro4x8(ap: usize, bp: usize, kc: i32, c: usize, ldc: usize, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += 16;
    bp += 32;
  }
  storeTile(c, ldc, acc, c00, c01, c10, c11, c20, c21, c30, c31);
}

/**
 * As micro4x8, B read in place: B row d of the panel is the 8 floats at img + table[d] (bytes), where
 * img already points at the panel's first output position in the padded image.
 */
@inline function micro4x8i(ap: usize, img: usize, table: usize, kc: i32, c: usize, ldc: usize, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const bp = img + <usize>load<i32>(table);
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += 16;
    table += 4;
  }
  storeTile(c, ldc, acc, c00, c01, c10, c11, c20, c21, c30, c31);
}

/**
 * Edge tile: the full kernel on a 4×8 copy of C (`tile`), then the valid rows×cols written back.
 * `table` ≠ 0: B read in place (micro4x8i).
 */
function edgeTile(ap: usize, bp: usize, table: usize, kc: i32, cp: usize, ldcb: usize, rows: i32, cols: i32, acc: bool, tile: usize): void {
  if (acc) {
    for (let t = 0; t < rows; t++)
      for (let u = 0; u < cols; u++) store<f32>(tile + (<usize>(t * NR + u) << 2), load<f32>(cp + <usize>t * ldcb + (<usize>u << 2)));
  }
  if (table) micro4x8i(ap, bp, table, kc, tile, <usize>NR << 2, acc);
  else micro4x8(ap, bp, kc, tile, <usize>NR << 2, acc);
  for (let t = 0; t < rows; t++)
    for (let u = 0; u < cols; u++) store<f32>(cp + <usize>t * ldcb + (<usize>u << 2), load<f32>(tile + (<usize>(t * NR + u) << 2)));
}

/**
 * C[i0..i1, j0..j1] (+)= A·B over the whole reduction D, with the operands set by setA/setB.
 * `accumulate`: add to C's current values (else C is overwritten). `ws`: scratch of
 * gemmScratchBytes(M, N, D) bytes. Rows/columns outside [0,M)×[0,N) are never touched.
 */
export function gemm(D: i32, c: usize, ldc: i32, accumulate: bool, i0: i32, i1: i32, j0: i32, j1: i32, ws: usize): void {
  if (i1 <= i0 || j1 <= j0) return;
  const tile = ws;
  const offs = ws + TILE_BYTES;
  const abuf = offs + OFFS_BYTES;
  const bbuf = abuf + ((<usize>roundUp(min<i32>(MC, i1 - i0), MR) * <usize>max<i32>(1, min<i32>(KC, D))) << 2);
  const ldcb = <usize>ldc << 2;
  if (D == 0) {
    if (!accumulate) for (let i = i0; i < i1; i++) memory.fill(c + ((<usize>i * <usize>ldc + <usize>j0) << 2), 0, <usize>(j1 - j0) << 2);
    return;
  }
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min<i32>(NC, j1 - jc);
    for (let pc = 0; pc < D; pc += KC) {
      const kc = min<i32>(KC, D - pc);
      const acc = accumulate || pc > 0;
      packB(pc, kc, jc, nc, bbuf, offs);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min<i32>(MC, i1 - ic);
        let abuf_ = abuf;
        if (aMode == A_PACKED) abuf_ = aPtr + ((<usize>pc * <usize>aLd + <usize>(ic - i0) * <usize>kc) << 2);
        else packA(ic, mc, pc, kc, abuf);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min<i32>(NR, nc - jr);
          // B panel: packed, or (im2col with a table) read in place from the image.
          let bp = bbuf + ((<usize>jr * <usize>kc) << 2);
          let table: usize = 0;
          if (bMode == B_IM2COL && directPanel(jc + jr, cols)) {
            const p0 = (jc + jr) / gQ;
            const q0 = jc + jr - p0 * gQ;
            bp = bPtr + (<usize>(p0 * gSh * gWp + q0) << 2);
            table = gTable + (<usize>pc << 2);
          }
          for (let ir = 0; ir < mc; ir += MR) {
            const ap = abuf_ + ((<usize>ir * <usize>kc) << 2);
            const rows = min<i32>(MR, mc - ir);
            const cp = c + ((<usize>(ic + ir) * <usize>ldc + <usize>(jc + jr)) << 2);
            if (rows == MR && cols == NR) {
              if (table) micro4x8i(ap, bp, table, kc, cp, ldcb, acc);
              else micro4x8(ap, bp, kc, cp, ldcb, acc);
            } else {
              edgeTile(ap, bp, table, kc, cp, ldcb, rows, cols, acc, tile);
            }
          }
        }
      }
    }
  }
}
