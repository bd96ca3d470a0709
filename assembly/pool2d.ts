// Pooling kernels (twin of wgsl/pool2d.wgsl; op, letters and rules in engine/ops/pool2d.ts).
// x [N,C,H,W] → y [N,C,P,Q]; planes are processed independently (NC of them) and threads split the
// planes. Backward kernels add each window's dy into the dx plane visiting windows in row-major order,
// so every dx element sums its windows in the same order as a gather would (average pooling scales the
// sums by 1/(kH·kW) afterwards, as a gather would): no write conflicts, no division per element.

import { share, shareHi, shareLo } from './parallel';

export function maxpool2d_fwd(x: usize, y: usize, idx: usize,
  N: i32, C: i32, H: i32, W: i32, P: i32, Q: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  share(N * C, 1);
  for (let pl = shareLo; pl < shareHi; pl++) {
    const xp = x + (<usize>(pl * H * W) << 2);
    const yo = pl * P * Q;
    for (let p = 0; p < P; p++)
      for (let q = 0; q < Q; q++) {
        let best: f32 = -Infinity;
        let bi: i32 = -1;
        for (let r = 0; r < kH; r++) {
          const h = p * strideH - padH + r;
          if (h < 0 || h >= H) continue;
          for (let s = 0; s < kW; s++) {
            const w = q * strideW - padW + s;
            if (w < 0 || w >= W) continue;
            const v = load<f32>(xp + (<usize>(h * W + w) << 2));
            // First maximum in window order wins; a NaN wins and stays (as PyTorch).
            if (bi < 0 || v > best || (v != v && best == best)) {
              best = v;
              bi = h * W + w;
            }
          }
        }
        const o = <usize>(yo + p * Q + q) << 2;
        store<f32>(y + o, best);
        store<i32>(idx + o, bi);
      }
  }
}

export function maxpool2d_bwd(dy: usize, idx: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, P: i32, Q: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  const plane = <usize>(H * W) << 2;
  share(N * C, 1);
  for (let pl = shareLo; pl < shareHi; pl++) {
    const dxp = dx + <usize>pl * plane;
    memory.fill(dxp, 0, plane);
    const o = <usize>(pl * P * Q) << 2;
    for (let t = 0; t < P * Q; t++) {
      const i = load<i32>(idx + o + (<usize>t << 2));
      if (i >= 0) {
        const d = dxp + (<usize>i << 2);
        store<f32>(d, load<f32>(d) + load<f32>(dy + o + (<usize>t << 2)));
      }
    }
  }
}

export function avgpool2d_fwd(x: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, P: i32, Q: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  const inv: f32 = 1 / <f32>(kH * kW);
  share(N * C, 1);
  for (let pl = shareLo; pl < shareHi; pl++) {
    const xp = x + (<usize>(pl * H * W) << 2);
    const yp = y + (<usize>(pl * P * Q) << 2);
    if (kH == 1 && kW == 1 && padH == 0 && padW == 0) {
      // A strided subsample (the option-A shortcut): acc = x, then ·inv as below.
      for (let p = 0; p < P; p++) {
        const xr = xp + (<usize>(p * strideH * W) << 2);
        const yr = yp + (<usize>(p * Q) << 2);
        for (let q = 0; q < Q; q++) store<f32>(yr + (<usize>q << 2), load<f32>(xr + (<usize>(q * strideW) << 2)) * inv);
      }
      continue;
    }
    for (let p = 0; p < P; p++)
      for (let q = 0; q < Q; q++) {
        let acc: f32 = 0;
        for (let r = 0; r < kH; r++) {
          const h = p * strideH - padH + r;
          if (h < 0 || h >= H) continue;
          for (let s = 0; s < kW; s++) {
            const w = q * strideW - padW + s;
            if (w < 0 || w >= W) continue;
            acc += load<f32>(xp + (<usize>(h * W + w) << 2));
          }
        }
        store<f32>(yp + (<usize>(p * Q + q) << 2), acc * inv);
      }
  }
}

export function avgpool2d_bwd(dy: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, P: i32, Q: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  const inv: f32 = 1 / <f32>(kH * kW);
  const HW = H * W;
  const plane = <usize>HW << 2;
  share(N * C, 1);
  for (let pl = shareLo; pl < shareHi; pl++) {
    const dxp = dx + <usize>pl * plane;
    const dyp = dy + (<usize>(pl * P * Q) << 2);
    memory.fill(dxp, 0, plane);
    for (let p = 0; p < P; p++) {
      for (let q = 0; q < Q; q++) {
        const v = load<f32>(dyp + (<usize>(p * Q + q) << 2));
        for (let r = 0; r < kH; r++) {
          const h = p * strideH - padH + r;
          if (h < 0 || h >= H) continue;
          for (let s = 0; s < kW; s++) {
            const w = q * strideW - padW + s;
            if (w < 0 || w >= W) continue;
            const d = dxp + (<usize>(h * W + w) << 2);
            store<f32>(d, load<f32>(d) + v);
          }
        }
      }
    }
    if (inv != 1) {
      const iv = f32x4.splat(inv);
      let i = 0;
      for (; i + 4 <= HW; i += 4) {
        const d = dxp + (<usize>i << 2);
        v128.store(d, f32x4.mul(v128.load(d), iv));
      }
      for (; i < HW; i++) {
        const d = dxp + (<usize>i << 2);
        store<f32>(d, load<f32>(d) * inv);
      }
    }
  }
}

/** y[nc] = mean of plane nc (f32x4 partial sums, then lanes in order). */
export function gap2d_fwd(x: usize, y: usize, NC: i32, HW: i32): void {
  const inv: f32 = 1 / <f32>HW;
  share(NC, 1);
  for (let pl = shareLo; pl < shareHi; pl++) {
    const p = x + (<usize>(pl * HW) << 2);
    let s = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= HW; i += 4) s = f32x4.add(s, v128.load(p + (<usize>i << 2)));
    let t: f32 = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
    for (; i < HW; i++) t += load<f32>(p + (<usize>i << 2));
    store<f32>(y + (<usize>pl << 2), t * inv);
  }
}

export function gap2d_bwd(dy: usize, dx: usize, NC: i32, HW: i32): void {
  const inv: f32 = 1 / <f32>HW;
  share(NC, 1);
  for (let pl = shareLo; pl < shareHi; pl++) {
    const v: f32 = load<f32>(dy + (<usize>pl << 2)) * inv;
    const vv = f32x4.splat(v);
    const p = dx + (<usize>(pl * HW) << 2);
    let i = 0;
    for (; i + 4 <= HW; i += 4) v128.store(p + (<usize>i << 2), vv);
    for (; i < HW; i++) store<f32>(p + (<usize>i << 2), v);
  }
}
