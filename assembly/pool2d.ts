// Pooling kernels (twin of wgsl/pool2d.wgsl; op, letters and rules in engine/ops/pool2d.ts).
// x [N,C,H,W] → y [N,C,P,Q]; planes are processed independently (NC of them). Backward kernels gather
// (each dx element sums the windows that touch it), so there are no write conflicts.

export function maxpool2d_fwd(x: usize, y: usize, idx: usize,
  N: i32, C: i32, H: i32, W: i32, P: i32, Q: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  const NC = N * C;
  for (let pl = 0; pl < NC; pl++) {
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
  const NC = N * C;
  for (let pl = 0; pl < NC; pl++) {
    const dyo = pl * P * Q;
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++) {
        // Windows p with p·strideH − padH ≤ h < p·strideH − padH + kH.
        const pLo = max<i32>(0, (h + padH - kH + strideH) / strideH);
        const pHi = min<i32>(P - 1, (h + padH) / strideH);
        const qLo = max<i32>(0, (w + padW - kW + strideW) / strideW);
        const qHi = min<i32>(Q - 1, (w + padW) / strideW);
        const me = h * W + w;
        let acc: f32 = 0;
        for (let p = pLo; p <= pHi; p++)
          for (let q = qLo; q <= qHi; q++) {
            const o = <usize>(dyo + p * Q + q) << 2;
            if (load<i32>(idx + o) == me) acc += load<f32>(dy + o);
          }
        store<f32>(dx + (<usize>(pl * H * W + me) << 2), acc);
      }
  }
}

export function avgpool2d_fwd(x: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, P: i32, Q: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  const NC = N * C;
  const inv: f32 = 1 / <f32>(kH * kW);
  for (let pl = 0; pl < NC; pl++) {
    const xp = x + (<usize>(pl * H * W) << 2);
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
        store<f32>(y + (<usize>(pl * P * Q + p * Q + q) << 2), acc * inv);
      }
  }
}

export function avgpool2d_bwd(dy: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, P: i32, Q: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padH: i32, padW: i32): void {
  const NC = N * C;
  const inv: f32 = 1 / <f32>(kH * kW);
  for (let pl = 0; pl < NC; pl++) {
    const dyo = pl * P * Q;
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++) {
        const pLo = max<i32>(0, (h + padH - kH + strideH) / strideH);
        const pHi = min<i32>(P - 1, (h + padH) / strideH);
        const qLo = max<i32>(0, (w + padW - kW + strideW) / strideW);
        const qHi = min<i32>(Q - 1, (w + padW) / strideW);
        let acc: f32 = 0;
        for (let p = pLo; p <= pHi; p++)
          for (let q = qLo; q <= qHi; q++) acc += load<f32>(dy + (<usize>(dyo + p * Q + q) << 2));
        store<f32>(dx + (<usize>(pl * H * W + h * W + w) << 2), acc * inv);
      }
  }
}

/** y[nc] = mean of plane nc (f32x4 partial sums, then lanes in order). */
export function gap2d_fwd(x: usize, y: usize, NC: i32, HW: i32): void {
  const inv: f32 = 1 / <f32>HW;
  for (let pl = 0; pl < NC; pl++) {
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
  for (let pl = 0; pl < NC; pl++) {
    const v: f32 = load<f32>(dy + (<usize>pl << 2)) * inv;
    const vv = f32x4.splat(v);
    const p = dx + (<usize>(pl * HW) << 2);
    let i = 0;
    for (; i + 4 <= HW; i += 4) v128.store(p + (<usize>i << 2), vv);
    for (; i < HW; i++) store<f32>(p + (<usize>i << 2), v);
  }
}
