// Augmentation, one sample at a time into an NCHW f32 batch: optional bilinear resize to the output
// size, zero padding + crop window (random crop), horizontal flip, channel mapping (gray↔RGB, alpha
// dropped) and per-channel normalisation (x/255 − mean)/std folded into one multiply-add.
//
// Order as torchvision's RandomCrop(padding) → RandomHorizontalFlip → ToTensor → Normalize: the
// padding is pixel value 0 *before* normalisation, so it becomes −mean/std.
//
// Not handled: antialiased downscaling (resize is plain bilinear, half-pixel centres), rotations,
// colour jitter.

import { alloc64, arenaGeneration } from "./common";

let tmp: usize = 0;
let tmpSize: usize = 0;
let tmpGeneration: u32 = 0;

/**
 * src: u8 pixels, interleaved HWC (planar = 0) or planar CHW (planar = 1). dst: f32 [outC, outH, outW].
 * norm: f32 scale[outC] then bias[outC]. offY/offX: top-left of the crop window in the padded image,
 * in [0, 2·pad].
 */
export function augment_one(
  src: usize, srcH: i32, srcW: i32, srcC: i32, planar: i32,
  dst: usize, outC: i32, outH: i32, outW: i32,
  pad: i32, offY: i32, offX: i32, flip: i32, norm: usize,
): void {
  let s = src;
  let H = srcH;
  let W = srcW;
  let pxStride: usize = planar ? 1 : <usize>srcC;
  let chStride: usize = planar ? <usize>srcH * <usize>srcW : 1;
  if (srcH != outH || srcW != outW) {
    // Resize into a reused interleaved buffer (allocated once per arena lifetime of the batch).
    const need64 = <u64>outH * <u64>outW * <u64>srcC;
    const need = <usize>need64;
    if (tmp == 0 || <u64>tmpSize < need64 || tmpGeneration != arenaGeneration) {
      tmp = alloc64(need64);
      tmpSize = need;
      tmpGeneration = arenaGeneration;
    }
    const sy = <f32>srcH / <f32>outH;
    const sx = <f32>srcW / <f32>outW;
    for (let y = 0; y < outH; y++) {
      let fy = (<f32>y + 0.5) * sy - 0.5;
      if (fy < 0) fy = 0;
      let y0 = <i32>fy;
      if (y0 > srcH - 1) y0 = srcH - 1;
      const y1 = y0 + 1 < srcH ? y0 + 1 : y0;
      const wy = fy - <f32>y0;
      for (let x = 0; x < outW; x++) {
        let fx = (<f32>x + 0.5) * sx - 0.5;
        if (fx < 0) fx = 0;
        let x0 = <i32>fx;
        if (x0 > srcW - 1) x0 = srcW - 1;
        const x1 = x0 + 1 < srcW ? x0 + 1 : x0;
        const wx = fx - <f32>x0;
        for (let c = 0; c < srcC; c++) {
          const cb = src + <usize>c * chStride;
          const a = <f32>load<u8>(cb + (<usize>y0 * <usize>srcW + <usize>x0) * pxStride);
          const b = <f32>load<u8>(cb + (<usize>y0 * <usize>srcW + <usize>x1) * pxStride);
          const d = <f32>load<u8>(cb + (<usize>y1 * <usize>srcW + <usize>x0) * pxStride);
          const e = <f32>load<u8>(cb + (<usize>y1 * <usize>srcW + <usize>x1) * pxStride);
          const top = a + (b - a) * wx;
          const bot = d + (e - d) * wx;
          const v = top + (bot - top) * wy + 0.5;
          store<u8>(tmp + (<usize>(y * outW + x) * <usize>srcC) + c, <u8>(v > 255 ? 255 : v));
        }
      }
    }
    s = tmp;
    H = outH;
    W = outW;
    pxStride = <usize>srcC;
    chStride = 1;
  }
  const plane = <usize>outH * <usize>outW;
  const luma = outC == 1 && srcC >= 3;
  for (let c = 0; c < outC; c++) {
    const scale = load<f32>(norm + (<usize>c << 2));
    const bias = load<f32>(norm + (<usize>(outC + c) << 2));
    // Source channel: gray replicated to RGB; alpha never read.
    const sc = srcC >= 3 ? (c < 3 ? c : 2) : 0;
    const cbase = s + <usize>sc * chStride;
    const o = dst + ((<usize>c * plane) << 2);
    for (let y = 0; y < outH; y++) {
      const sy = y + offY - pad;
      const orow = o + ((<usize>(y * outW)) << 2);
      if (sy < 0 || sy >= H) {
        for (let x = 0; x < outW; x++) store<f32>(orow + (<usize>x << 2), bias);
        continue;
      }
      const rowBase = <usize>sy * <usize>W;
      // Output columns whose source column is inside the image: [xa, xb); the rest is padding.
      // Without flip sx = x + offX − pad; with flip sx = outW − 1 − x + offX − pad.
      const shift = offX - pad;
      let xa: i32, xb: i32;
      if (flip) {
        xa = max<i32>(0, outW - W + shift);
        xb = min<i32>(outW, outW + shift);
      } else {
        xa = max<i32>(0, -shift);
        xb = min<i32>(outW, W - shift);
      }
      if (xb < xa) xb = xa;
      for (let x = 0; x < xa; x++) store<f32>(orow + (<usize>x << 2), bias);
      for (let x = xb; x < outW; x++) store<f32>(orow + (<usize>x << 2), bias);
      if (luma) {
        for (let x = xa; x < xb; x++) {
          const sx = (flip ? outW - 1 - x : x) + shift;
          const pp = (rowBase + <usize>sx) * pxStride;
          // ITU-R 601 luma, as PIL's convert('L').
          const v = (<f32>load<u8>(s + pp) * 299 + <f32>load<u8>(s + pp + chStride) * 587 + <f32>load<u8>(s + pp + 2 * chStride) * 114) / 1000;
          store<f32>(orow + (<usize>x << 2), v * scale + bias);
        }
      } else if (flip) {
        let sp = cbase + (rowBase + <usize>(outW - 1 - xa + shift)) * pxStride;
        for (let x = xa; x < xb; x++) {
          store<f32>(orow + (<usize>x << 2), <f32>load<u8>(sp) * scale + bias);
          sp -= pxStride;
        }
      } else {
        let sp = cbase + (rowBase + <usize>(xa + shift)) * pxStride;
        for (let x = xa; x < xb; x++) {
          store<f32>(orow + (<usize>x << 2), <f32>load<u8>(sp) * scale + bias);
          sp += pxStride;
        }
      }
    }
  }
}
