// PNG decoder (ISO/IEC 15948): every colour type (gray, RGB, palette, gray+alpha, RGBA), bit depths
// 1/2/4/8 (and 16, reduced to the high byte), all five filters, Adam7 interlacing. Output is 8-bit,
// interleaved, row-major: gray 1 channel, gray+alpha 2, RGB 3, RGBA 4; palette images come out as RGB
// (RGBA when a tRNS chunk gives the palette alpha).
//
// Robustness: the signature, every chunk length (against the file end) and every CRC are checked;
// IHDR is validated (size against the pixel limit before anything is allocated, legal depth/type
// pairs); the zlib stream must inflate to exactly the size the header implies.
//
// Not handled: colour management (gAMA, iCCP, ...), tRNS colour keys for gray/RGB images (ignored:
// the channels stay as stored), APNG frames beyond the default image.

import { fail, alloc, alloc64, setResult, maxPixels, be32, crc32 } from "./common";
import { inflate_zlib } from "./inflate";
import { result } from "./common";

const palette = memory.data(256 * 4, 16);
let paletteSize: i32 = 0;
let hasTrns = false;

// Adam7 passes: x0, y0, dx, dy.
const ADAM7 = memory.data<u8>([0, 0, 8, 8, 4, 0, 8, 8, 0, 4, 4, 8, 2, 0, 4, 4, 0, 2, 2, 4, 1, 0, 2, 2, 0, 1, 1, 2]);

let base: usize = 0;

function chunkIs(t: u32, a: u8, b: u8, c: u8, d: u8): bool {
  return t == ((<u32>a) | (<u32>b << 8) | (<u32>c << 16) | (<u32>d << 24));
}

@inline function paeth(a: i32, b: i32, c: i32): i32 {
  const p = a + b - c;
  const pa = abs<i32>(p - a);
  const pb = abs<i32>(p - b);
  const pc = abs<i32>(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Reverses the filter of one row in place. `prev` is 0 for the first row of a (pass) image. */
function unfilter(ft: u32, row: usize, prev: usize, n: usize, bpp: usize, rowIndex: i32): void {
  if (ft == 0) return;
  if (ft == 1) {
    for (let i = bpp; i < n; i++) store<u8>(row + i, load<u8>(row + i) + load<u8>(row + i - bpp));
  } else if (ft == 2) {
    if (prev) for (let i: usize = 0; i < n; i++) store<u8>(row + i, load<u8>(row + i) + load<u8>(prev + i));
  } else if (ft == 3) {
    for (let i: usize = 0; i < n; i++) {
      const a: u32 = i >= bpp ? load<u8>(row + i - bpp) : 0;
      const b: u32 = prev ? load<u8>(prev + i) : 0;
      store<u8>(row + i, load<u8>(row + i) + <u8>((a + b) >> 1));
    }
  } else if (ft == 4) {
    for (let i: usize = 0; i < n; i++) {
      const a: i32 = i >= bpp ? load<u8>(row + i - bpp) : 0;
      const b: i32 = prev ? load<u8>(prev + i) : 0;
      const c: i32 = prev && i >= bpp ? load<u8>(prev + i - bpp) : 0;
      store<u8>(row + i, load<u8>(row + i) + <u8>paeth(a, b, c));
    }
  } else {
    fail("bad filter type {a} in row {b}", -1, <i32>ft, rowIndex);
  }
}

let colorType: i32 = 0;
let depth: i32 = 0;
let outC: i32 = 0;
let samples: i32 = 0;

/** Writes `npix` pixels of an unfiltered row to out, `step` bytes apart. */
function emitRow(row: usize, npix: i32, out: usize, step: usize): void {
  if (depth == 8 && colorType != 3) {
    if (step == <usize>outC) memory.copy(out, row, <usize>npix * <usize>outC);
    else for (let x = 0; x < npix; x++) memory.copy(out + <usize>x * step, row + <usize>(x * outC), outC);
    return;
  }
  if (depth == 16) {
    for (let x = 0; x < npix; x++) {
      for (let c = 0; c < outC; c++) store<u8>(out + <usize>x * step + c, load<u8>(row + <usize>((x * outC + c) * 2)));
    }
    return;
  }
  // Depth ≤ 8 with one sample per pixel: gray or palette, packed MSB first.
  const mask = (1 << depth) - 1;
  for (let x = 0; x < npix; x++) {
    const bit = x * depth;
    const v = (<i32>load<u8>(row + (bit >> 3)) >> (8 - depth - (bit & 7))) & mask;
    const o = out + <usize>x * step;
    if (colorType == 3) {
      if (v >= paletteSize) fail("palette index {a} out of range ({b} entries)", -1, v, paletteSize);
      const pe = palette + (<usize>v << 2);
      store<u8>(o, load<u8>(pe));
      store<u8>(o + 1, load<u8>(pe + 1));
      store<u8>(o + 2, load<u8>(pe + 2));
      if (outC == 4) store<u8>(o + 3, load<u8>(pe + 3));
    } else {
      // Scale to 0..255: 1-bit × 255, 2-bit × 85, 4-bit × 17.
      store<u8>(o, <u8>((v * 255) / mask));
    }
  }
}

/** Decodes the PNG at [p, p+n). Results: 0 = pixels, 1 = width, 2 = height, 3 = channels, 4 = interlaced. */
export function png_decode(p: usize, n: usize): void {
  base = p;
  const end = p + n;
  if (n < 8 || load<u32>(p) != 0x474e5089 || load<u32>(p + 4) != 0x0a1a0a0d) fail("not a PNG file (bad signature)", 0);
  let q = p + 8;
  let width: u32 = 0;
  let height: u32 = 0;
  let interlace: u32 = 0;
  paletteSize = 0;
  hasTrns = false;
  let idatBytes: usize = 0;
  let sawIEND = false;
  let first = true;
  // Pass 1: validate every chunk, read the header and palette, and add up the IDAT sizes.
  while (q < end) {
    if (end - q < 12) fail("truncated: incomplete chunk header", <i32>(q - p));
    const len = be32(q);
    const type = load<u32>(q + 4);
    if (len > 0x7fffffff || <usize>len > end - q - 12) fail("truncated: chunk of {a} bytes extends past the end of the file", <i32>(q - p), <i32>len);
    const data = q + 8;
    if (crc32(0, q + 4, <usize>len + 4) != be32(data + len)) fail("CRC mismatch in a chunk (data corrupt)", <i32>(q - p));
    for (let i: usize = 0; i < 4; i++) {
      const ch = load<u8>(q + 4 + i);
      if (!((ch >= 65 && ch <= 90) || (ch >= 97 && ch <= 122))) fail("invalid chunk type", <i32>(q + 4 - p));
    }
    if (first && !chunkIs(type, 73, 72, 68, 82)) fail("first chunk is not IHDR", <i32>(q - p));
    if (chunkIs(type, 73, 72, 68, 82)) {
      if (!first) fail("second IHDR chunk", <i32>(q - p));
      if (len != 13) fail("IHDR has length {a}, expected 13", <i32>(q - p), <i32>len);
      width = be32(data);
      height = be32(data + 4);
      depth = load<u8>(data + 8);
      colorType = load<u8>(data + 9);
      interlace = load<u8>(data + 12);
      if (width == 0 || height == 0 || width > 0x7fffffff || height > 0x7fffffff) fail("invalid size {a}×{b}", <i32>(data - p), <i32>width, <i32>height);
      if (<u64>width * <u64>height > <u64>maxPixels) fail("image is {a}×{b} pixels, above the pixel limit", <i32>(data - p), <i32>width, <i32>height);
      const okDepth =
        colorType == 0 ? depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16 :
        colorType == 3 ? depth == 1 || depth == 2 || depth == 4 || depth == 8 :
        colorType == 2 || colorType == 4 || colorType == 6 ? depth == 8 || depth == 16 : false;
      if (!okDepth) fail("invalid colour type {a} with bit depth {b}", <i32>(data + 8 - p), colorType, depth);
      if (load<u8>(data + 10) != 0) fail("unknown compression method {a}", <i32>(data + 10 - p), load<u8>(data + 10));
      if (load<u8>(data + 11) != 0) fail("unknown filter method {a}", <i32>(data + 11 - p), load<u8>(data + 11));
      if (interlace > 1) fail("unknown interlace method {a}", <i32>(data + 12 - p), interlace);
    } else if (chunkIs(type, 80, 76, 84, 69)) {
      if (len % 3 != 0 || len > 768 || len == 0) fail("PLTE has invalid length {a}", <i32>(q - p), <i32>len);
      paletteSize = <i32>len / 3;
      for (let i = 0; i < paletteSize; i++) {
        store<u8>(palette + (<usize>i << 2), load<u8>(data + <usize>(i * 3)));
        store<u8>(palette + (<usize>i << 2) + 1, load<u8>(data + <usize>(i * 3 + 1)));
        store<u8>(palette + (<usize>i << 2) + 2, load<u8>(data + <usize>(i * 3 + 2)));
        store<u8>(palette + (<usize>i << 2) + 3, 255);
      }
    } else if (chunkIs(type, 116, 82, 78, 83)) {
      if (colorType == 3) {
        if (<i32>len > paletteSize) fail("tRNS has more entries than the palette", <i32>(q - p));
        for (let i: u32 = 0; i < len; i++) store<u8>(palette + (<usize>i << 2) + 3, load<u8>(data + i));
        hasTrns = true;
      }
    } else if (chunkIs(type, 73, 68, 65, 84)) {
      idatBytes += len;
    } else if (chunkIs(type, 73, 69, 78, 68)) {
      sawIEND = true;
      break;
    } else if ((type & 0x20) == 0) {
      fail("unknown critical chunk", <i32>(q - p));
    }
    first = false;
    q = data + len + 4;
  }
  if (!sawIEND) fail("truncated: no IEND chunk", <i32>n);
  if (idatBytes == 0) fail("no image data (IDAT)", -1);
  if (colorType == 3 && paletteSize == 0) fail("palette image without a PLTE chunk", -1);
  // Pass 2: gather the IDAT data into one zlib stream.
  const z = alloc(idatBytes);
  let zp = z;
  q = p + 8;
  while (q < end) {
    const len = be32(q);
    const type = load<u32>(q + 4);
    if (chunkIs(type, 73, 68, 65, 84)) {
      memory.copy(zp, q + 8, len);
      zp += len;
    }
    if (chunkIs(type, 73, 69, 78, 68)) break;
    q += <usize>len + 12;
  }
  samples = colorType == 0 || colorType == 3 ? 1 : colorType == 4 ? 2 : colorType == 2 ? 3 : 4;
  outC = colorType == 3 ? (hasTrns ? 4 : 3) : samples;
  const bitsPP = <u64>samples * <u64>depth;
  const bpp = <usize>max<u64>(1, bitsPP >> 3);
  // Size of the filtered data the header implies (u64: a lying header must not overflow it).
  let need: u64 = 0;
  const W = <u64>width;
  const H = <u64>height;
  if (interlace == 0) {
    need = H * (1 + ((W * bitsPP + 7) >> 3));
  } else {
    for (let k = 0; k < 7; k++) {
      const x0 = <u64>load<u8>(ADAM7 + k * 4);
      const y0 = <u64>load<u8>(ADAM7 + k * 4 + 1);
      const dx = <u64>load<u8>(ADAM7 + k * 4 + 2);
      const dy = <u64>load<u8>(ADAM7 + k * 4 + 3);
      const pw = W > x0 ? (W - x0 + dx - 1) / dx : 0;
      const ph = H > y0 ? (H - y0 + dy - 1) / dy : 0;
      if (pw > 0 && ph > 0) need += ph * (1 + ((pw * bitsPP + 7) >> 3));
    }
  }
  if (need > 0x7fff0000) fail("image data of {a} MiB is too large", -1, <i32>(need >> 20));
  inflate_zlib(z, idatBytes, <usize>need, <usize>need);
  const raw = <usize>result(0);
  const got = <u64>result(1);
  if (got != need) fail("image data inflates to {a} bytes, the header implies {b}", -1, <i32>got, <i32>need);
  const out = alloc64(W * H * <u64>outC);
  let r = raw;
  if (interlace == 0) {
    const rb = <usize>((W * bitsPP + 7) >> 3);
    let prev: usize = 0;
    for (let y = 0; y < <i32>height; y++) {
      unfilter(load<u8>(r), r + 1, prev, rb, bpp, y);
      emitRow(r + 1, <i32>width, out + <usize>y * <usize>W * <usize>outC, <usize>outC);
      prev = r + 1;
      r += rb + 1;
    }
  } else {
    for (let k = 0; k < 7; k++) {
      const x0 = <i32>load<u8>(ADAM7 + k * 4);
      const y0 = <i32>load<u8>(ADAM7 + k * 4 + 1);
      const dx = <i32>load<u8>(ADAM7 + k * 4 + 2);
      const dy = <i32>load<u8>(ADAM7 + k * 4 + 3);
      const pw = <i32>width > x0 ? (<i32>width - x0 + dx - 1) / dx : 0;
      const ph = <i32>height > y0 ? (<i32>height - y0 + dy - 1) / dy : 0;
      if (pw == 0 || ph == 0) continue;
      const rb = <usize>((<u64>pw * bitsPP + 7) >> 3);
      let prev: usize = 0;
      for (let y = 0; y < ph; y++) {
        unfilter(load<u8>(r), r + 1, prev, rb, bpp, y);
        const oy = y0 + y * dy;
        emitRow(r + 1, pw, out + (<usize>oy * <usize>W + <usize>x0) * <usize>outC, <usize>(dx * outC));
        prev = r + 1;
        r += rb + 1;
      }
    }
  }
  setResult(0, <i32>out);
  setResult(1, <i32>width);
  setResult(2, <i32>height);
  setResult(3, outC);
  setResult(4, <i32>interlace);
}
