// 2-D convolution (twin of wgsl/conv2d.wgsl; op and letters in engine/ops/conv2d.ts).
// x [N,C,H,W], w [K,C,R,S], y [N,K,P,Q]. Reference version: direct loops; every output element sums
// over (c, r, s) in increasing order. Out-of-range input positions read as zero.

export function conv2d_fwd(x: usize, w: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, P: i32, Q: i32,
  strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++)
      for (let p = 0; p < P; p++)
        for (let q = 0; q < Q; q++) {
          let acc: f32 = 0;
          for (let c = 0; c < C; c++)
            for (let r = 0; r < R; r++) {
              const h = p * strideH - padH + r;
              if (h < 0 || h >= H) continue;
              for (let s = 0; s < S; s++) {
                const ww = q * strideW - padW + s;
                if (ww < 0 || ww >= W) continue;
                acc += load<f32>(x + (<usize>(((n * C + c) * H + h) * W + ww) << 2)) * load<f32>(w + (<usize>(((k * C + c) * R + r) * S + s) << 2));
              }
            }
          store<f32>(y + (<usize>(((n * K + k) * P + p) * Q + q) << 2), acc);
        }
}

export function conv2d_bwd_x(dy: usize, w: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, P: i32, Q: i32,
  strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let ww = 0; ww < W; ww++) {
          let acc: f32 = 0;
          for (let k = 0; k < K; k++)
            for (let r = 0; r < R; r++) {
              const ph = h + padH - r;
              if (ph < 0 || ph % strideH != 0) continue;
              const p = ph / strideH;
              if (p >= P) continue;
              for (let s = 0; s < S; s++) {
                const qw = ww + padW - s;
                if (qw < 0 || qw % strideW != 0) continue;
                const q = qw / strideW;
                if (q >= Q) continue;
                acc += load<f32>(dy + (<usize>(((n * K + k) * P + p) * Q + q) << 2)) * load<f32>(w + (<usize>(((k * C + c) * R + r) * S + s) << 2));
              }
            }
          store<f32>(dx + (<usize>(((n * C + c) * H + h) * W + ww) << 2), acc);
        }
}

export function conv2d_bwd_w(x: usize, dy: usize, dw: usize,
  N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, P: i32, Q: i32,
  strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  for (let k = 0; k < K; k++)
    for (let c = 0; c < C; c++)
      for (let r = 0; r < R; r++)
        for (let s = 0; s < S; s++) {
          let acc: f32 = 0;
          for (let n = 0; n < N; n++)
            for (let p = 0; p < P; p++) {
              const h = p * strideH - padH + r;
              if (h < 0 || h >= H) continue;
              for (let q = 0; q < Q; q++) {
                const ww = q * strideW - padW + s;
                if (ww < 0 || ww >= W) continue;
                acc += load<f32>(dy + (<usize>(((n * K + k) * P + p) * Q + q) << 2)) * load<f32>(x + (<usize>(((n * C + c) * H + h) * W + ww) << 2));
              }
            }
          store<f32>(dw + (<usize>(((k * C + c) * R + r) * S + s) << 2), acc);
        }
}
