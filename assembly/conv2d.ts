// 2-D convolution (twin of wgsl/conv2d.wgsl; op and letters in engine/ops/conv2d.ts).
// x [N,C,H,W], w [K,C,R,S], y [N,K,P,Q]. All three kernels are GEMMs on ./gemm with implicit im2col:
// each image is first copied into a zero-padded scratch image (C·Hp·Wp, cheap next to the GEMM), and
// the GEMM's im2col operand comes straight from it, so no im2col matrix is ever built. With unit
// column stride, fwd and bwd_x do not even pack it: the micro-kernel reads its 8-wide B rows in place
// through a table of row offsets (measured 34 → 54 GFLOP/s at 16 channels), and the weights are packed
// once per call, not per image. (Reading bwd_w's im2col in place as A, four broadcast streams, measured
// 2× slower than packing it, so bwd_w packs im2colᵀ panels.)
//
//   fwd:    Y[n] [K, PQ]  = W [K, CRS] · im2col(Xpad[n]) [CRS, PQ]
//   bwd_x:  stride 1: dX[n] [C, HW] = Wflip [C, K·R·S] · im2col(dYpad[n]) [KRS, HW], a stride-1
//           convolution of dy padded by R−1−padH / S−1−padW with the flipped, transposed kernel.
//           stride > 1: col [CRS, PQ] = Wᵀ · dY[n], then dx gathers col (col2im) — no multiplications
//           by the zeros a dilated dy would hold.
//   bwd_w:  dW [K, CRS] = Σ_n dY[n] [K, PQ] · im2col(Xpad[n])ᵀ [PQ, CRS], summed over images in order.
//
// Threads: fwd and bwd_x split the batch (images are independent outputs), or, with fewer images than
// threads, output columns (fwd) / input channels (bwd_x). bwd_w sums over the batch, so it splits dW
// by columns (c,r,s) or rows (k) and every thread walks all images in the same order. Scratch per
// thread: the GEMM's blocks, the packed weights and row-offset table, the padded image (or col),
// sized by the `_scratch` exports.
//
// Not handled: groups and dilation (the op refuses them).

import {
  A_COL, A_ROW, A_WFLIP, B_IM2COL, B_IM2COLT, B_ROW, gemm, gemmScratchBytes, MR, NR, packedABytes, prepackA, setA, setB,
  setConvGeometry, setIm2colTable,
} from './gemm';
import { hi0, hi1, lo0, lo1, scratchBase, share2, threadCount } from './parallel';

@inline function align64(x: usize): usize {
  return (x + 63) & ~(<usize>63);
}

/** Bytes of a scratch image [Cn, Hp, Wp], with slack for the 8-wide stride-2 reads of ./gemm. */
@inline function imageBytes(Cn: i32, Hp: i32, Wp: i32): usize {
  return align64((<usize>Cn * <usize>Hp * <usize>Wp << 2) + 32);
}

/**
 * dst [Cn, Hd, Wd] = src [Cn, Hs, Ws] shifted down by oh rows and right by ow columns (negative:
 * cropped), zeros elsewhere.
 */
function padCopy(src: usize, Cn: i32, Hs: i32, Ws: i32, dst: usize, Hd: i32, Wd: i32, oh: i32, ow: i32): void {
  const jlo = min<i32>(Wd, max<i32>(0, ow));
  const jhi = max<i32>(jlo, min<i32>(Wd, Ws + ow));
  const rowBytes = <usize>Wd << 2;
  for (let c = 0; c < Cn; c++) {
    for (let i = 0; i < Hd; i++) {
      const drow = dst + (<usize>(c * Hd + i) * <usize>Wd << 2);
      const h = i - oh;
      if (h < 0 || h >= Hs || jhi == jlo) {
        memory.fill(drow, 0, rowBytes);
        continue;
      }
      if (jlo > 0) memory.fill(drow, 0, <usize>jlo << 2);
      memory.copy(drow + (<usize>jlo << 2), src + ((<usize>(c * Hs + h) * <usize>Ws + <usize>(jlo - ow)) << 2), <usize>(jhi - jlo) << 2);
      if (jhi < Wd) memory.fill(drow + (<usize>jhi << 2), 0, <usize>(Wd - jhi) << 2);
    }
  }
}

// ---- forward -----------------------------------------------------------------------------------------

/**
 * Scratch of a GEMM over images whose A (the weights, rows [0, M)) is packed once per call and whose
 * B is the implicit im2col of a padded image: GEMM blocks, packed A, im2col row table, the image.
 */
@inline function convScratch(M: i32, N: i32, D: i32, imgBytes: usize): usize {
  return align64(gemmScratchBytes(M, N, D)) + align64(packedABytes(0, M, D)) + align64(<usize>D << 2) + imgBytes;
}

export function conv2d_fwd_scratch(N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, P: i32, Q: i32,
  strideH: i32, strideW: i32, padH: i32, padW: i32): usize {
  return convScratch(K, P * Q, C * R * S, imageBytes(C, H + 2 * padH, W + 2 * padW));
}

export function conv2d_fwd(x: usize, w: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, P: i32, Q: i32,
  strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  const PQ = P * Q;
  const CRS = C * R * S;
  const Hp = H + 2 * padH;
  const Wp = W + 2 * padW;
  const ws = scratchBase();
  const packed = ws + align64(gemmScratchBytes(K, PQ, CRS));
  const table = packed + align64(packedABytes(0, K, CRS));
  const img = table + align64(<usize>CRS << 2);
  setA(A_ROW, w, CRS);
  setB(B_IM2COL, img, 0);
  setConvGeometry(0, Hp, Wp, R, S, strideH, strideW, Q);
  setIm2colTable(strideW == 1 ? table : 0, CRS);
  // Split images; with fewer images than threads, output columns.
  share2(N >= threadCount(), N, 1, PQ, NR);
  const n0 = lo0, n1 = hi0, j0 = lo1, j1 = hi1;
  if (n1 > n0) prepackA(0, K, CRS, packed);
  const xImage = <usize>(C * H * W) << 2;
  const yImage = <usize>(K * PQ) << 2;
  for (let n = n0; n < n1; n++) {
    padCopy(x + <usize>n * xImage, C, H, W, img, Hp, Wp, padH, padW);
    gemm(CRS, y + <usize>n * yImage, PQ, false, 0, K, j0, j1, ws);
  }
}

// ---- input gradient ----------------------------------------------------------------------------------

export function conv2d_bwd_x_scratch(N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, P: i32, Q: i32,
  strideH: i32, strideW: i32, padH: i32, padW: i32): usize {
  if (strideH == 1 && strideW == 1) return convScratch(C, H * W, K * R * S, imageBytes(K, H + R - 1, W + S - 1));
  const CRS = C * R * S;
  return align64(gemmScratchBytes(CRS, P * Q, K)) + align64(<usize>CRS * <usize>(P * Q) << 2);
}

/**
 * dx[c0..c1) of one image from col [CRS, PQ]: dx[c,h,w] = Σ_{r,s} col[(c,r,s), p, q] over the windows
 * (p,q) that cover (h,w). Accumulated tap by tap, (r,s) in increasing order for every element (the
 * order a gather would use), with no division in the loops.
 */
function col2im(col: usize, dx: usize, c0: i32, c1: i32, H: i32, W: i32, R: i32, S: i32, P: i32, Q: i32,
  strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  const PQ = P * Q;
  const plane = <usize>(H * W) << 2;
  // Output columns q whose w = q·strideW − padW + s lies in [0, W): q ∈ [qlo(s), qhi(s)).
  for (let c = c0; c < c1; c++) {
    const dplane = dx + <usize>c * plane;
    memory.fill(dplane, 0, plane);
    for (let r = 0; r < R; r++) {
      for (let s = 0; s < S; s++) {
        const src = col + (<usize>((c * R + r) * S + s) * <usize>PQ << 2);
        let qlo = 0;
        while (qlo < Q && qlo * strideW - padW + s < 0) qlo++;
        let qhi = Q;
        while (qhi > qlo && (qhi - 1) * strideW - padW + s >= W) qhi--;
        for (let p = 0; p < P; p++) {
          const h = p * strideH - padH + r;
          if (h < 0 || h >= H) continue;
          const srow = src + (<usize>(p * Q) << 2);
          let d = dplane + (<usize>(h * W + qlo * strideW - padW + s) << 2);
          const step = <usize>strideW << 2;
          for (let q = qlo; q < qhi; q++) {
            store<f32>(d, load<f32>(d) + load<f32>(srow + (<usize>q << 2)));
            d += step;
          }
        }
      }
    }
  }
}

export function conv2d_bwd_x(dy: usize, w: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, P: i32, Q: i32,
  strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  const HW = H * W;
  const PQ = P * Q;
  const RS = R * S;
  const ws = scratchBase();
  const stride1 = strideH == 1 && strideW == 1;
  // Split images; with fewer images than threads, input channels.
  share2(N >= threadCount(), N, 1, C, stride1 ? MR : 1);
  const n0 = lo0, n1 = hi0, c0 = lo1, c1 = hi1;
  const dxImage = <usize>(C * HW) << 2;
  const dyImage = <usize>(K * PQ) << 2;
  if (stride1) {
    const Hp = H + R - 1;
    const Wp = W + S - 1;
    const D = K * RS;
    const packed = ws + align64(gemmScratchBytes(C, HW, D));
    const table = packed + align64(packedABytes(0, C, D));
    const img = table + align64(<usize>D << 2);
    setA(A_WFLIP, w, 0);
    setB(B_IM2COL, img, 0);
    setConvGeometry(C, Hp, Wp, R, S, 1, 1, W);
    setIm2colTable(table, D);
    if (n1 > n0 && c1 > c0) prepackA(c0, c1, D, packed);
    for (let n = n0; n < n1; n++) {
      padCopy(dy + <usize>n * dyImage, K, P, Q, img, Hp, Wp, R - 1 - padH, S - 1 - padW);
      gemm(D, dx + <usize>n * dxImage, HW, false, c0, c1, 0, HW, ws);
    }
  } else {
    const CRS = C * RS;
    const col = ws + align64(gemmScratchBytes(CRS, PQ, K));
    setA(A_COL, w, CRS);
    for (let n = n0; n < n1; n++) {
      setB(B_ROW, dy + <usize>n * dyImage, PQ);
      gemm(K, col, PQ, false, c0 * RS, c1 * RS, 0, PQ, ws);
      col2im(col, dx + <usize>n * dxImage, c0, c1, H, W, R, S, P, Q, strideH, strideW, padH, padW);
    }
  }
}

// ---- weight gradient ---------------------------------------------------------------------------------

export function conv2d_bwd_w_scratch(N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, P: i32, Q: i32,
  strideH: i32, strideW: i32, padH: i32, padW: i32): usize {
  return align64(gemmScratchBytes(K, C * R * S, P * Q)) + imageBytes(C, H + 2 * padH, W + 2 * padW);
}

export function conv2d_bwd_w(x: usize, dy: usize, dw: usize,
  N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, P: i32, Q: i32,
  strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  const PQ = P * Q;
  const CRS = C * R * S;
  const Hp = H + 2 * padH;
  const Wp = W + 2 * padW;
  const ws = scratchBase();
  const img = ws + align64(gemmScratchBytes(K, CRS, PQ));
  // The batch is a reduction axis here: split dW itself, by columns (c,r,s) or else rows (k).
  share2((CRS + NR - 1) / NR >= threadCount(), CRS, NR, K, MR);
  const j0 = lo0, j1 = hi0, i0 = lo1, i1 = hi1;
  if (N == 0) {
    for (let k = i0; k < i1; k++) memory.fill(dw + ((<usize>k * <usize>CRS + <usize>j0) << 2), 0, <usize>(j1 - j0) << 2);
    return;
  }
  setB(B_IM2COLT, img, 0);
  setConvGeometry(0, Hp, Wp, R, S, strideH, strideW, Q);
  setIm2colTable(0, 0);
  // Columns (c,r,s) are channel-major: this share's columns read channels [c0, c1) only, so it pads
  // only those (padding every channel in every share cost ~25% at 16 channels).
  const RS = R * S;
  const c0 = j0 / RS;
  const c1 = j1 > j0 ? (j1 - 1) / RS + 1 : c0;
  const plane = <usize>(H * W) << 2;
  const xImage = <usize>C * plane;
  const dyImage = <usize>(K * PQ) << 2;
  for (let n = 0; n < N; n++) {
    padCopy(x + <usize>n * xImage + <usize>c0 * plane, c1 - c0, H, W, img + (<usize>(c0 * Hp * Wp) << 2), Hp, Wp, padH, padW);
    setA(A_ROW, dy + <usize>n * dyImage, PQ);
    gemm(PQ, dw, CRS, n > 0, i0, i1, j0, j1, ws);
  }
}
