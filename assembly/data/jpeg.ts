// JPEG decoder (ITU T.81): baseline and extended Huffman (SOF0/SOF1) and progressive (SOF2), 8-bit,
// 1 (grayscale) or 3 components with any sampling factors 1..4, restart intervals. Output is
// interleaved Y or RGB, row-major.
//
// Pipeline: parse markers → entropy-decode every scan into per-component coefficient planes (i16,
// MCU-padded) → at EOI, dequantise + IDCT (libjpeg's "islow" integer algorithm, so results match
// libjpeg-turbo's default) into component planes → upsample chroma (libjpeg's "fancy" triangle filter
// for 2×1, 1×2 and 2×2, replication otherwise) → YCbCr→RGB in libjpeg's fixed point.
//
// Robustness: every segment length is checked against the file end, table ids and sampling factors
// against their ranges, dimensions against the host's pixel limit before anything is allocated.
// Entropy data that runs into a marker reads as zero bits for a few bytes (the read-ahead); a scan
// that needs more is an error ("corrupt data"), as is data that runs off the end of the file or a
// file without EOI ("truncated"). So the work per scan is bounded by the data present.
//
// Not handled: arithmetic coding, lossless and hierarchical modes, 12-bit samples, CMYK/4 components,
// DNL (height given after the first scan), more than 256 scans, scan data that stops at a marker
// before its blocks are complete (libjpeg pads with zeros and warns). Each is refused with a message.

import { fail, alloc, alloc64, setResult, maxPixels, be16 } from "./common";

// Zigzag index → natural (row-major) index, with 16 extra entries so a corrupt run past 63 stays in
// the table (those writes land in position 63 and are harmless).
const ZZ = memory.data<u8>([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
  54, 47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);

// Quantisation tables: 4 × 64 u16, natural order.
const qt = memory.data(4 * 64 * 2, 16);
let qtDefined: u32 = 0;

// Huffman tables 0..3 DC, 4..7 AC. Layout per table: fast[512] u16 ((len << 8) | value, 0 = longer
// code), maxcode[17] i32, valoff[17] i32, values[256] u8.
const H_FAST: usize = 0;
const H_MAX: usize = 1024;
const H_VOFF: usize = 1024 + 17 * 4;
const H_VALS: usize = 1024 + 34 * 4;
const H_SIZE: usize = H_VALS + 256;
const huff = memory.data(<i32>(8 * <i32>H_SIZE), 16);
let huffDefined: u32 = 0;
// AC tables 0..3: for each 9-bit lookahead whose Huffman code *and* coefficient bits fit in 9 bits,
// (value << 16) | (run << 8) | bits used; 0 otherwise. Saves a decode + getBits per coefficient.
const fastAc = memory.data(4 * 512 * 4, 16);
// The DHT bytes (16 counts + values) each table was last built from, and their length (0 = none).
const huffKey = memory.data(8 * 272, 16);
const huffKeyLen = memory.data(8 * 4, 16);

// Components (at most 3). Fields, i32 each.
const C_ID = 0, C_H = 1, C_V = 2, C_TQ = 3, C_BPL = 4, C_BPC = 5, C_BW = 6, C_BH = 7, C_COEF = 8, C_PLANE = 9,
  C_PW = 10, C_W = 11, C_HGT = 12, C_DC = 13, C_AC = 14, C_PRED = 15;
const comps = memory.data(4 * 16 * 4, 16);
@inline function cget(c: i32, f: i32): i32 {
  return load<i32>(comps + (<usize>(c * 16 + f) << 2));
}
@inline function cset(c: i32, f: i32, v: i32): void {
  store<i32>(comps + (<usize>(c * 16 + f) << 2), v);
}

let base: usize = 0;
let end: usize = 0;
let width: i32 = 0;
let height: i32 = 0;
let ncomp: i32 = 0;
let hmax: i32 = 1;
let vmax: i32 = 1;
let mcusX: i32 = 0;
let mcusY: i32 = 0;
let progressive = false;
let restartInterval: i32 = 0;
let adobe: i32 = -1;
let eobrun: i32 = 0;

// Entropy-coded data reader: MSB-first bits in a 64-bit buffer.
let jp: usize = 0;
let jbuf: u64 = 0;
let jcnt: i32 = 0;
let jmarker = false;
let jhitEnd = false;
// Zero bytes fed since the data ran out (marker or end of file). The filler reads up to 8 bytes
// ahead, so a valid scan never gets past ~8; more means the scan's data is missing, and stopping
// there bounds the work a small corrupt file can cause (no scan decodes blocks from nothing).
let zeroFed: i32 = 0;
const MAX_SCANS = 256;

@inline function pos(p: usize): i32 {
  return <i32>(p - base);
}

function jfill(): void {
  while (jcnt <= 56) {
    let b: u32 = 0;
    if (!jmarker && jp < end) {
      b = load<u8>(jp);
      if (b == 0xff) {
        const nb: u32 = jp + 1 < end ? load<u8>(jp + 1) : 0x100;
        if (nb == 0) {
          jp += 2;
        } else if (nb == 0x100) {
          jhitEnd = true;
          b = 0;
        } else {
          // A marker ends the segment: leave jp on it and feed zero bits from now on.
          jmarker = true;
          b = 0;
        }
      } else {
        jp++;
      }
    } else if (!jmarker) {
      jhitEnd = true;
    }
    if (jmarker || jhitEnd) {
      if (++zeroFed > 16) {
        if (jhitEnd) fail("truncated: the file ends inside entropy-coded data", pos(end));
        fail("corrupt data: a scan stops at a marker before its blocks are complete", pos(jp));
      }
    }
    jbuf |= (<u64>b) << (<u64>(56 - jcnt));
    jcnt += 8;
  }
}

@inline function getBits(n: i32): i32 {
  if (n == 0) return 0;
  if (jcnt < n) jfill();
  const v = <i32>(jbuf >> (<u64>(64 - n)));
  jbuf <<= <u64>n;
  jcnt -= n;
  return v;
}

@inline function getBit(): i32 {
  if (jcnt < 1) jfill();
  const v = <i32>(jbuf >> 63);
  jbuf <<= 1;
  jcnt -= 1;
  return v;
}

@inline function extend(v: i32, s: i32): i32 {
  return v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
}

function decodeHuff(t: usize): i32 {
  if (jcnt < 16) jfill();
  const e = <u32>load<u16>(t + H_FAST + (<usize>(jbuf >> 55) << 1));
  if (e != 0) {
    const l = <i32>(e >> 8);
    jbuf <<= <u64>l;
    jcnt -= l;
    return <i32>(e & 255);
  }
  const code = <i32>(jbuf >> 48);
  for (let l = 10; l <= 16; l++) {
    const c = code >> (16 - l);
    if (c <= load<i32>(t + H_MAX + (<usize>l << 2))) {
      jbuf <<= <u64>l;
      jcnt -= l;
      return <i32>load<u8>(t + H_VALS + <usize>(load<i32>(t + H_VOFF + (<usize>l << 2)) + c));
    }
  }
  fail("bad Huffman code in scan data", pos(jp));
  return 0;
}

function readDQT(p: usize, segEnd: usize): void {
  while (p < segEnd) {
    const pq = <i32>load<u8>(p) >> 4;
    const tq = <i32>load<u8>(p) & 15;
    p++;
    if (tq > 3) fail("quantization table id {a} out of range", pos(p - 1), tq);
    if (pq > 1) fail("quantization table precision {a} invalid", pos(p - 1), pq);
    const n: usize = pq ? 128 : 64;
    if (p + n > segEnd) fail("DQT segment too short", pos(p));
    for (let k = 0; k < 64; k++) {
      const v: u32 = pq ? be16(p + (<usize>k << 1)) : <u32>load<u8>(p + k);
      store<u16>(qt + (<usize>(tq * 64 + <i32>load<u8>(ZZ + k)) << 1), <u16>v);
    }
    qtDefined |= 1 << tq;
    p += n;
  }
}

function readDHT(p: usize, segEnd: usize): void {
  while (p < segEnd) {
    if (p + 17 > segEnd) fail("DHT segment too short", pos(p));
    const tc = <i32>load<u8>(p) >> 4;
    const th = <i32>load<u8>(p) & 15;
    if (tc > 1 || th > 3) fail("Huffman table class/id {a}/{b} out of range", pos(p), tc, th);
    const ti = tc * 4 + th;
    const t = huff + <usize>ti * H_SIZE;
    let total = 0;
    for (let l = 1; l <= 16; l++) total += <i32>load<u8>(p + l);
    if (total > 256) fail("Huffman table has {a} codes (at most 256)", pos(p), total);
    const vals = p + 17;
    if (vals + total > segEnd) fail("DHT segment too short", pos(p));
    // Most files of a dataset carry the same tables (the standard ones): reuse the built table when
    // this definition is byte-identical to the one it was built from.
    const key = huffKey + <usize>ti * 272;
    const keyLen = load<i32>(huffKeyLen + (<usize>ti << 2));
    if (keyLen == 16 + total && memory.compare(key, p + 1, 16 + total) == 0) {
      huffDefined |= 1 << ti;
      p = vals + total;
      continue;
    }
    store<i32>(huffKeyLen + (<usize>ti << 2), 0);
    memory.copy(t + H_VALS, vals, total);
    memory.fill(t + H_FAST, 0, 1024);
    let code: i32 = 0;
    let k: i32 = 0;
    for (let l = 1; l <= 16; l++) {
      const cnt = <i32>load<u8>(p + l);
      store<i32>(t + H_VOFF + (<usize>l << 2), k - code);
      for (let i = 0; i < cnt; i++) {
        // Checked before the code is used: an over-subscribed table would index past fast[512].
        if (code >= (1 << l)) fail("Huffman table is over-subscribed", pos(p));
        if (l <= 9) {
          const e = <u16>((l << 8) | <i32>load<u8>(vals + k));
          const first = code << (9 - l);
          const n = 1 << (9 - l);
          for (let j = 0; j < n; j++) store<u16>(t + H_FAST + (<usize>(first + j) << 1), e);
        }
        code++;
        k++;
      }
      store<i32>(t + H_MAX + (<usize>l << 2), cnt ? code - 1 : -1);
      code <<= 1;
    }
    huffDefined |= 1 << ti;
    if (tc == 1) buildFastAc(t, fastAc + (<usize>th << 11));
    memory.copy(key, p + 1, 16 + total);
    store<i32>(huffKeyLen + (<usize>ti << 2), 16 + total);
    p = vals + total;
  }
}

function buildFastAc(t: usize, f: usize): void {
  for (let i = 0; i < 512; i++) {
    const e = <i32>load<u16>(t + H_FAST + (<usize>i << 1));
    let v: i32 = 0;
    if (e != 0) {
      const len = e >> 8;
      const rs = e & 255;
      const s = rs & 15;
      if (s != 0 && len + s <= 9) {
        const bits = (i >> (9 - len - s)) & ((1 << s) - 1);
        v = (extend(bits, s) << 16) | ((rs >> 4) << 8) | (len + s);
      }
    }
    store<i32>(f + (<usize>i << 2), v);
  }
}

function readSOF(p: usize, segEnd: usize, marker: i32): void {
  if (ncomp != 0) fail("more than one frame header (SOF)", pos(p));
  if (segEnd - p < 6) fail("SOF segment too short", pos(p));
  const precision = <i32>load<u8>(p);
  if (precision != 8) fail("{a}-bit samples not supported (only 8-bit)", pos(p), precision);
  height = <i32>be16(p + 1);
  width = <i32>be16(p + 3);
  const nc = <i32>load<u8>(p + 5);
  if (height == 0) fail("height 0 (DNL marker) not supported", pos(p + 1));
  if (width == 0) fail("width 0 is invalid", pos(p + 3));
  if (nc != 1 && nc != 3) fail("{a} components not supported (only grayscale and YCbCr/RGB)", pos(p + 5), nc);
  if (<usize>(6 + nc * 3) > segEnd - p) fail("SOF segment too short for {a} components", pos(p), nc);
  if (<u64>width * <u64>height > <u64>maxPixels) fail("image is {a}×{b} pixels, above the pixel limit", pos(p + 1), width, height);
  progressive = marker == 0xc2;
  hmax = 1;
  vmax = 1;
  for (let c = 0; c < nc; c++) {
    const q = p + 6 + <usize>(c * 3);
    const hv = <i32>load<u8>(q + 1);
    const h = hv >> 4;
    const v = hv & 15;
    const tq = <i32>load<u8>(q + 2);
    if (h < 1 || h > 4 || v < 1 || v > 4) fail("sampling factors {a}×{b} out of range", pos(q + 1), h, v);
    if (tq > 3) fail("quantization table id {a} out of range", pos(q + 2), tq);
    for (let d = 0; d < c; d++) if (cget(d, C_ID) == <i32>load<u8>(q)) fail("duplicate component id {a}", pos(q), load<u8>(q));
    cset(c, C_ID, load<u8>(q));
    cset(c, C_H, h);
    cset(c, C_V, v);
    cset(c, C_TQ, tq);
    if (h > hmax) hmax = h;
    if (v > vmax) vmax = v;
  }
  if (nc == 1) {
    // A lone component is never interleaved: its sampling factors do not matter (T.81 A.2.2).
    cset(0, C_H, 1);
    cset(0, C_V, 1);
    hmax = 1;
    vmax = 1;
  }
  ncomp = nc;
  mcusX = (width + 8 * hmax - 1) / (8 * hmax);
  mcusY = (height + 8 * vmax - 1) / (8 * vmax);
  for (let c = 0; c < nc; c++) {
    const h = cget(c, C_H);
    const v = cget(c, C_V);
    const cw = (width * h + hmax - 1) / hmax;
    const ch = (height * v + vmax - 1) / vmax;
    const bpl = mcusX * h;
    const bpc = mcusY * v;
    cset(c, C_W, cw);
    cset(c, C_HGT, ch);
    cset(c, C_BW, (cw + 7) >> 3);
    cset(c, C_BH, (ch + 7) >> 3);
    cset(c, C_BPL, bpl);
    cset(c, C_BPC, bpc);
    const bytes = <u64>bpl * <u64>bpc * 128;
    const coef = alloc64(bytes);
    memory.fill(coef, 0, <usize>bytes);
    cset(c, C_COEF, <i32>coef);
  }
}

// Scan state.
let scanN: i32 = 0;
const scanComp = memory.data(4 * 4, 16);
let ss: i32 = 0;
let se: i32 = 0;
let ah: i32 = 0;
let al: i32 = 0;

function restart(): void {
  // Drop the padding bits, find the marker (skipping any garbage) and check it is RSTn.
  jbuf = 0;
  jcnt = 0;
  if (!jmarker) {
    while (jp + 1 < end && !(load<u8>(jp) == 0xff && load<u8>(jp + 1) != 0 && load<u8>(jp + 1) != 0xff)) jp++;
  }
  if (jp + 1 >= end) fail("truncated: the file ends inside entropy-coded data", pos(end));
  const m = <i32>load<u8>(jp + 1);
  if (m < 0xd0 || m > 0xd7) fail("expected a restart marker, found 0xFF{a}", pos(jp), m);
  jp += 2;
  jmarker = false;
  zeroFed = 0;
  for (let c = 0; c < ncomp; c++) cset(c, C_PRED, 0);
  eobrun = 0;
}

function decodeBlock(c: i32, blk: usize): void {
  const dct = huff + <usize>cget(c, C_DC) * H_SIZE;
  const act = huff + <usize>(4 + cget(c, C_AC)) * H_SIZE;
  if (!progressive) {
    const t = decodeHuff(dct);
    if (t > 11) fail("bad DC coefficient size {a}", pos(jp), t);
    const pred = cget(c, C_PRED) + (t ? extend(getBits(t), t) : 0);
    cset(c, C_PRED, pred);
    store<i16>(blk, <i16>pred);
    const fa = fastAc + (<usize>cget(c, C_AC) << 11);
    let k = 1;
    while (k < 64) {
      if (jcnt < 16) jfill();
      const f = load<i32>(fa + (<usize>(jbuf >> 55) << 2));
      if (f != 0) {
        k += (f >> 8) & 255;
        const l = f & 255;
        jbuf <<= <u64>l;
        jcnt -= l;
        if (k > 63) fail("AC coefficient index past 63 (corrupt data)", pos(jp));
        store<i16>(blk + (<usize>load<u8>(ZZ + k) << 1), <i16>(f >> 16));
        k++;
        continue;
      }
      const rs = decodeHuff(act);
      const s = rs & 15;
      const r = rs >> 4;
      if (s == 0) {
        if (r != 15) break;
        k += 16;
        continue;
      }
      k += r;
      if (k > 63) fail("AC coefficient index past 63 (corrupt data)", pos(jp));
      store<i16>(blk + (<usize>load<u8>(ZZ + k) << 1), <i16>extend(getBits(s), s));
      k++;
    }
    return;
  }
  if (ss == 0) {
    // DC scans: first pass or refinement.
    if (ah == 0) {
      const t = decodeHuff(dct);
      if (t > 11) fail("bad DC coefficient size {a}", pos(jp), t);
      const pred = cget(c, C_PRED) + (t ? extend(getBits(t), t) : 0);
      cset(c, C_PRED, pred);
      store<i16>(blk, <i16>(pred << al));
    } else if (getBit()) {
      store<i16>(blk, <i16>(<i32>load<i16>(blk) | (1 << al)));
    }
    return;
  }
  if (ah == 0) {
    // AC first pass.
    if (eobrun > 0) {
      eobrun--;
      return;
    }
    for (let k = ss; k <= se; k++) {
      const rs = decodeHuff(act);
      const s = rs & 15;
      const r = rs >> 4;
      if (s == 0) {
        if (r < 15) {
          eobrun = (1 << r) - 1;
          if (r) eobrun += getBits(r);
          break;
        }
        k += 15;
        continue;
      }
      k += r;
      if (k > se) fail("AC coefficient index past the spectral band (corrupt data)", pos(jp));
      store<i16>(blk + (<usize>load<u8>(ZZ + k) << 1), <i16>(extend(getBits(s), s) * (1 << al)));
    }
    return;
  }
  // AC refinement (T.81 G.1.2.3, in libjpeg's formulation).
  const p1: i32 = 1 << al;
  const m1: i32 = -1 << al;
  let k = ss;
  if (eobrun == 0) {
    for (; k <= se; k++) {
      const rs = decodeHuff(act);
      let r = rs >> 4;
      let s = rs & 15;
      if (s) {
        if (s != 1) fail("bad AC refinement coefficient size {a}", pos(jp), s);
        s = getBit() ? p1 : m1;
      } else if (r != 15) {
        eobrun = 1 << r;
        if (r) eobrun += getBits(r);
        break;
      }
      // Skip r zero coefficients, refining the nonzero ones passed over.
      while (k <= se) {
        const z = blk + (<usize>load<u8>(ZZ + k) << 1);
        const v = <i32>load<i16>(z);
        if (v != 0) {
          if (getBit() && (v & p1) == 0) store<i16>(z, <i16>(v >= 0 ? v + p1 : v + m1));
        } else {
          if (r == 0) break;
          r--;
        }
        k++;
      }
      if (s) {
        if (k > se) fail("AC refinement past the spectral band (corrupt data)", pos(jp));
        store<i16>(blk + (<usize>load<u8>(ZZ + k) << 1), <i16>s);
      }
    }
  }
  if (eobrun > 0) {
    for (; k <= se; k++) {
      const z = blk + (<usize>load<u8>(ZZ + k) << 1);
      const v = <i32>load<i16>(z);
      if (v != 0 && getBit() && (v & p1) == 0) store<i16>(z, <i16>(v >= 0 ? v + p1 : v + m1));
    }
    eobrun--;
  }
}

@inline function blockPtr(c: i32, by: i32, bx: i32): usize {
  return <usize>cget(c, C_COEF) + ((<usize>by * <usize>cget(c, C_BPL) + <usize>bx) << 7);
}

function readSOS(p: usize, segEnd: usize): usize {
  if (ncomp == 0) fail("scan (SOS) before the frame header (SOF)", pos(p));
  if (segEnd - p < 1) fail("SOS segment too short", pos(p));
  const n = <i32>load<u8>(p);
  if (n < 1 || n > ncomp) fail("scan has {a} components (frame has {b})", pos(p), n, ncomp);
  if (<usize>(1 + 2 * n + 3) > segEnd - p) fail("SOS segment too short", pos(p));
  for (let i = 0; i < n; i++) {
    const q = p + 1 + <usize>(i * 2);
    const id = <i32>load<u8>(q);
    let c = -1;
    for (let d = 0; d < ncomp; d++) if (cget(d, C_ID) == id) c = d;
    if (c < 0) fail("scan refers to unknown component id {a}", pos(q), id);
    const td = <i32>load<u8>(q + 1) >> 4;
    const ta = <i32>load<u8>(q + 1) & 15;
    if (td > 3 || ta > 3) fail("Huffman table id out of range in scan", pos(q + 1));
    cset(c, C_DC, td);
    cset(c, C_AC, ta);
    store<i32>(scanComp + (<usize>i << 2), c);
  }
  const q = p + 1 + <usize>(2 * n);
  ss = load<u8>(q);
  se = load<u8>(q + 1);
  ah = <i32>load<u8>(q + 2) >> 4;
  al = <i32>load<u8>(q + 2) & 15;
  scanN = n;
  if (progressive) {
    if (ss > se || se > 63 || al > 13) fail("bad progressive scan parameters", pos(q));
    if (ss == 0 && se != 0) fail("progressive DC scan with AC coefficients", pos(q));
    if (ss > 0 && n != 1) fail("progressive AC scan with {a} components", pos(q), n);
  } else {
    ss = 0;
    se = 63;
    ah = 0;
    al = 0;
  }
  // The tables this scan uses must exist.
  for (let i = 0; i < n; i++) {
    const c = load<i32>(scanComp + (<usize>i << 2));
    if ((!progressive || (ss == 0 && ah == 0)) && !(huffDefined & (1 << cget(c, C_DC)))) fail("scan uses undefined DC Huffman table {a}", pos(p), cget(c, C_DC));
    if ((!progressive || ss > 0) && !(huffDefined & (1 << (4 + cget(c, C_AC))))) fail("scan uses undefined AC Huffman table {a}", pos(p), cget(c, C_AC));
    cset(c, C_PRED, 0);
  }
  eobrun = 0;
  jp = segEnd;
  jbuf = 0;
  jcnt = 0;
  jmarker = false;
  jhitEnd = false;
  zeroFed = 0;
  let todo = restartInterval;
  if (n == 1) {
    const c = load<i32>(scanComp);
    const bw = cget(c, C_BW);
    const bh = cget(c, C_BH);
    for (let by = 0; by < bh; by++) {
      for (let bx = 0; bx < bw; bx++) {
        if (restartInterval) {
          if (todo == 0) {
            restart();
            todo = restartInterval;
          }
          todo--;
        }
        decodeBlock(c, blockPtr(c, by, bx));
      }
      if (jhitEnd) break;
    }
  } else {
    for (let my = 0; my < mcusY; my++) {
      for (let mx = 0; mx < mcusX; mx++) {
        if (restartInterval) {
          if (todo == 0) {
            restart();
            todo = restartInterval;
          }
          todo--;
        }
        for (let i = 0; i < n; i++) {
          const c = load<i32>(scanComp + (<usize>i << 2));
          const h = cget(c, C_H);
          const v = cget(c, C_V);
          for (let y = 0; y < v; y++) for (let x = 0; x < h; x++) decodeBlock(c, blockPtr(c, my * v + y, mx * h + x));
        }
      }
      if (jhitEnd) break;
    }
  }
  if (jhitEnd) fail("truncated: the file ends inside entropy-coded data", pos(end));
  // Continue at the next marker; bytes before it are padding.
  let r = jp;
  while (r + 1 < end && !(load<u8>(r) == 0xff && load<u8>(r + 1) != 0 && (load<u8>(r + 1) < 0xd0 || load<u8>(r + 1) > 0xd7) && load<u8>(r + 1) != 0xff)) r++;
  return r;
}

// ---- IDCT (libjpeg jidctint.c "islow": 13-bit constants, 2 extra bits between passes) -------------
const ws = memory.data(64 * 4, 16);

@inline function clamp8(v: i32): u8 {
  return <u8>(v < 0 ? 0 : v > 255 ? 255 : v);
}

function idctBlock(blk: usize, q: usize, out: usize, stride: usize): void {
  for (let i = 0; i < 8; i++) {
    const inp = blk + (<usize>i << 1);
    const qp = q + (<usize>i << 1);
    const w = ws + (<usize>i << 2);
    if (load<i16>(inp + 16) == 0 && load<i16>(inp + 32) == 0 && load<i16>(inp + 48) == 0 && load<i16>(inp + 64) == 0 &&
      load<i16>(inp + 80) == 0 && load<i16>(inp + 96) == 0 && load<i16>(inp + 112) == 0) {
      const dc = (<i32>load<i16>(inp) * <i32>load<u16>(qp)) << 2;
      for (let r = 0; r < 8; r++) store<i32>(w + (<usize>r << 5), dc);
      continue;
    }
    let z2 = <i32>load<i16>(inp + 32) * <i32>load<u16>(qp + 32);
    let z3 = <i32>load<i16>(inp + 96) * <i32>load<u16>(qp + 96);
    let z1 = (z2 + z3) * 4433;
    let tmp2 = z1 + z3 * -15137;
    let tmp3 = z1 + z2 * 6270;
    z2 = <i32>load<i16>(inp) * <i32>load<u16>(qp);
    z3 = <i32>load<i16>(inp + 64) * <i32>load<u16>(qp + 64);
    let tmp0 = (z2 + z3) << 13;
    let tmp1 = (z2 - z3) << 13;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = <i32>load<i16>(inp + 112) * <i32>load<u16>(qp + 112);
    tmp1 = <i32>load<i16>(inp + 80) * <i32>load<u16>(qp + 80);
    tmp2 = <i32>load<i16>(inp + 48) * <i32>load<u16>(qp + 48);
    tmp3 = <i32>load<i16>(inp + 16) * <i32>load<u16>(qp + 16);
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * 9633;
    tmp0 *= 2446;
    tmp1 *= 16819;
    tmp2 *= 25172;
    tmp3 *= 12299;
    z1 *= -7373;
    z2 *= -20995;
    z3 = z3 * -16069 + z5;
    z4 = z4 * -3196 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    const R: i32 = 1 << 10;
    store<i32>(w, (tmp10 + tmp3 + R) >> 11);
    store<i32>(w + 224, (tmp10 - tmp3 + R) >> 11);
    store<i32>(w + 32, (tmp11 + tmp2 + R) >> 11);
    store<i32>(w + 192, (tmp11 - tmp2 + R) >> 11);
    store<i32>(w + 64, (tmp12 + tmp1 + R) >> 11);
    store<i32>(w + 160, (tmp12 - tmp1 + R) >> 11);
    store<i32>(w + 96, (tmp13 + tmp0 + R) >> 11);
    store<i32>(w + 128, (tmp13 - tmp0 + R) >> 11);
  }
  for (let r = 0; r < 8; r++) {
    const w = ws + (<usize>r << 5);
    const o = out + <usize>r * stride;
    if (load<i32>(w + 4) == 0 && load<i32>(w + 8) == 0 && load<i32>(w + 12) == 0 && load<i32>(w + 16) == 0 &&
      load<i32>(w + 20) == 0 && load<i32>(w + 24) == 0 && load<i32>(w + 28) == 0) {
      const v = clamp8(((load<i32>(w) + 16) >> 5) + 128);
      store<u64>(o, <u64>v * 0x0101010101010101);
      continue;
    }
    let z2 = load<i32>(w + 8);
    let z3 = load<i32>(w + 24);
    let z1 = (z2 + z3) * 4433;
    let tmp2 = z1 + z3 * -15137;
    let tmp3 = z1 + z2 * 6270;
    let tmp0 = (load<i32>(w) + load<i32>(w + 16)) << 13;
    let tmp1 = (load<i32>(w) - load<i32>(w + 16)) << 13;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = load<i32>(w + 28);
    tmp1 = load<i32>(w + 20);
    tmp2 = load<i32>(w + 12);
    tmp3 = load<i32>(w + 4);
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * 9633;
    tmp0 *= 2446;
    tmp1 *= 16819;
    tmp2 *= 25172;
    tmp3 *= 12299;
    z1 *= -7373;
    z2 *= -20995;
    z3 = z3 * -16069 + z5;
    z4 = z4 * -3196 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    const R: i32 = 1 << 17;
    store<u8>(o, clamp8(((tmp10 + tmp3 + R) >> 18) + 128));
    store<u8>(o + 7, clamp8(((tmp10 - tmp3 + R) >> 18) + 128));
    store<u8>(o + 1, clamp8(((tmp11 + tmp2 + R) >> 18) + 128));
    store<u8>(o + 6, clamp8(((tmp11 - tmp2 + R) >> 18) + 128));
    store<u8>(o + 2, clamp8(((tmp12 + tmp1 + R) >> 18) + 128));
    store<u8>(o + 5, clamp8(((tmp12 - tmp1 + R) >> 18) + 128));
    store<u8>(o + 3, clamp8(((tmp13 + tmp0 + R) >> 18) + 128));
    store<u8>(o + 4, clamp8(((tmp13 - tmp0 + R) >> 18) + 128));
  }
}

// ---- output ------------------------------------------------------------------------------------

// Column sums of the h2v2 filter for one output row (i32 per chroma column); sized per image.
let colsum: usize = 0;

/** Output row y of component c at full resolution (width bytes at dst). */
function upsampleRow(c: i32, y: i32, dst: usize): void {
  const src = <usize>cget(c, C_PLANE);
  const pw = <usize>cget(c, C_PW);
  const cw = cget(c, C_W);
  const ch = cget(c, C_HGT);
  const h = cget(c, C_H);
  const v = cget(c, C_V);
  const hs = hmax / h;
  const vs = vmax / v;
  const exact = hmax % h == 0 && vmax % v == 0;
  if (hs == 1 && vs == 1 && exact) {
    memory.copy(dst, src + <usize>y * pw, <usize>width);
  } else if (hs == 2 && vs == 1 && exact) {
    // libjpeg h2v1 fancy: each output pixel is ¾ of the nearer input pixel + ¼ of the further one.
    const row = src + <usize>y * pw;
    for (let j = 0; j < cw; j++) {
      const cur = <i32>load<u8>(row + j) * 3;
      const l = <i32>load<u8>(row + <usize>(j > 0 ? j - 1 : <i32>0));
      const r = <i32>load<u8>(row + <usize>(j + 1 < cw ? j + 1 : j));
      const x = j << 1;
      store<u8>(dst + x, <u8>((cur + l + 1) >> 2));
      if (x + 1 < width) store<u8>(dst + x + 1, <u8>((cur + r + 2) >> 2));
    }
  } else if (hs == 1 && vs == 2 && exact) {
    // libjpeg-turbo h1v2 fancy: vertical ¾/¼, rounding bias 1 for the upper row, 2 for the lower.
    const i = y >> 1;
    const nb = y & 1 ? (i + 1 < ch ? i + 1 : i) : (i > 0 ? i - 1 : 0);
    const r0 = src + <usize>i * pw;
    const r1 = src + <usize>nb * pw;
    const bias = y & 1 ? 2 : 1;
    for (let x = 0; x < width; x++) store<u8>(dst + x, <u8>((<i32>load<u8>(r0 + x) * 3 + <i32>load<u8>(r1 + x) + bias) >> 2));
  } else if (hs == 2 && vs == 2 && exact) {
    // libjpeg h2v2 fancy: vertical ¾/¼ into column sums, then horizontal ¾/¼ of those.
    const i = y >> 1;
    const nb = y & 1 ? (i + 1 < ch ? i + 1 : i) : (i > 0 ? i - 1 : 0);
    const r0 = src + <usize>i * pw;
    const r1 = src + <usize>nb * pw;
    for (let j = 0; j < cw; j++) store<i32>(colsum + (<usize>j << 2), <i32>load<u8>(r0 + j) * 3 + <i32>load<u8>(r1 + j));
    for (let j = 0; j < cw; j++) {
      const cur = load<i32>(colsum + (<usize>j << 2)) * 3;
      const l = load<i32>(colsum + (<usize>(j > 0 ? j - 1 : <i32>0) << 2));
      const r = load<i32>(colsum + (<usize>(j + 1 < cw ? j + 1 : j) << 2));
      const x = j << 1;
      store<u8>(dst + x, <u8>((cur + l + 8) >> 4));
      if (x + 1 < width) store<u8>(dst + x + 1, <u8>((cur + r + 7) >> 4));
    }
  } else {
    const row = src + <usize>((y * v) / vmax) * pw;
    for (let x = 0; x < width; x++) store<u8>(dst + x, load<u8>(row + (x * h) / hmax));
  }
}

function output(): void {
  if (ncomp == 0) fail("no frame header (SOF) before EOI", pos(end));
  for (let c = 0; c < ncomp; c++) {
    const tq = cget(c, C_TQ);
    if (!(qtDefined & (1 << tq))) fail("quantization table {a} used but never defined", -1, tq);
    const bpl = cget(c, C_BPL);
    const bpc = cget(c, C_BPC);
    const pw = <usize>bpl * 8;
    const plane = alloc64(<u64>pw * <u64>bpc * 8);
    cset(c, C_PLANE, <i32>plane);
    cset(c, C_PW, <i32>pw);
    const q = qt + (<usize>tq << 7);
    // Only the blocks that hold image pixels matter (the upsamplers clamp to the component size).
    const bh = min<i32>(bpc, cget(c, C_BH));
    const bw = min<i32>(bpl, cget(c, C_BW));
    for (let by = 0; by < bh; by++) {
      for (let bx = 0; bx < bw; bx++) idctBlock(blockPtr(c, by, bx), q, plane + <usize>by * 8 * pw + <usize>bx * 8, pw);
    }
  }
  const W = <usize>width;
  const out = alloc64(<u64>W * <u64>height * <u64>ncomp);
  colsum = alloc((W / 2 + 2) << 2);
  if (ncomp == 1) {
    for (let y = 0; y < height; y++) upsampleRow(0, y, out + <usize>y * W);
  } else {
    const ry = alloc(W * 3);
    const rcb = ry + W;
    const rcr = rcb + W;
    // RGB unless JFIF/YCbCr: an Adobe marker says so, or (without one) component ids 'R','G','B'.
    const rgb = adobe >= 0 ? adobe == 0 : cget(0, C_ID) == 82 && cget(1, C_ID) == 71 && cget(2, C_ID) == 66;
    for (let y = 0; y < height; y++) {
      upsampleRow(0, y, ry);
      upsampleRow(1, y, rcb);
      upsampleRow(2, y, rcr);
      let o = out + <usize>y * W * 3;
      if (rgb) {
        for (let x: usize = 0; x < W; x++) {
          store<u8>(o, load<u8>(ry + x));
          store<u8>(o + 1, load<u8>(rcb + x));
          store<u8>(o + 2, load<u8>(rcr + x));
          o += 3;
        }
      } else {
        for (let x: usize = 0; x < W; x++) {
          const Y = <i32>load<u8>(ry + x);
          const Cb = <i32>load<u8>(rcb + x) - 128;
          const Cr = <i32>load<u8>(rcr + x) - 128;
          // libjpeg jdcolor.c: FIX(1.40200), FIX(1.77200), -FIX(0.34414), -FIX(0.71414) at 16 bits.
          store<u8>(o, clamp8(Y + ((91881 * Cr + 32768) >> 16)));
          store<u8>(o + 1, clamp8(Y + ((-22554 * Cb - 46802 * Cr + 32768) >> 16)));
          store<u8>(o + 2, clamp8(Y + ((116130 * Cb + 32768) >> 16)));
          o += 3;
        }
      }
    }
  }
  setResult(0, <i32>out);
  setResult(1, width);
  setResult(2, height);
  setResult(3, ncomp);
  setResult(4, progressive ? 1 : 0);
}

/** Decodes the JPEG at [p, p+n). Results: 0 = pixels, 1 = width, 2 = height, 3 = channels, 4 = progressive. */
export function jpeg_decode(p: usize, n: usize): void {
  base = p;
  end = p + n;
  ncomp = 0;
  qtDefined = 0;
  huffDefined = 0;
  restartInterval = 0;
  adobe = -1;
  progressive = false;
  let scans = 0;
  if (n < 4 || load<u8>(p) != 0xff || load<u8>(p + 1) != 0xd8) fail("not a JPEG file (no SOI marker)", 0);
  let q = p + 2;
  while (true) {
    if (q >= end) fail("truncated: no EOI marker", pos(end));
    if (load<u8>(q) != 0xff) fail("expected a marker, found byte 0x{a}", pos(q), load<u8>(q));
    while (q < end && load<u8>(q) == 0xff) q++;
    if (q >= end) fail("truncated: no EOI marker", pos(end));
    const m = <i32>load<u8>(q);
    q++;
    if (m == 0xd9) break;
    if (m == 0xd8) fail("second SOI marker", pos(q - 2));
    if ((m >= 0xd0 && m <= 0xd7) || m == 0x01) continue;
    if (q + 2 > end) fail("truncated: segment length past the end of the file", pos(q));
    const len = <usize>be16(q);
    if (len < 2) fail("segment length {a} is invalid", pos(q), <i32>len);
    if (len > end - q) fail("truncated: segment 0xFF{a} extends past the end of the file", pos(q - 2), m);
    const s = q + 2;
    const segEnd = q + len;
    if (m == 0xdb) readDQT(s, segEnd);
    else if (m == 0xc4) readDHT(s, segEnd);
    else if (m == 0xc0 || m == 0xc1 || m == 0xc2) readSOF(s, segEnd, m);
    else if (m == 0xdd) {
      if (len < 4) fail("DRI segment too short", pos(s));
      restartInterval = be16(s);
    } else if (m == 0xda) {
      if (++scans > MAX_SCANS) fail("more than {a} scans (a scan bomb?)", pos(q - 2), MAX_SCANS);
      q = readSOS(s, segEnd);
      continue;
    } else if (m == 0xee) {
      if (len >= 14 && load<u8>(s) == 65 && load<u8>(s + 1) == 100 && load<u8>(s + 2) == 111 && load<u8>(s + 3) == 98 && load<u8>(s + 4) == 101) adobe = load<u8>(s + 11);
    } else if (m == 0xc3 || (m >= 0xc5 && m <= 0xc7) || (m >= 0xc9 && m <= 0xcb) || (m >= 0xcd && m <= 0xcf)) {
      fail("unsupported JPEG process (SOF{a}: lossless, hierarchical or arithmetic coding)", pos(q - 2), m - 0xc0);
    } else if (m == 0xcc) fail("arithmetic coding not supported", pos(q - 2));
    else if (m == 0xdc) fail("DNL marker not supported", pos(q - 2));
    q = segEnd;
  }
  if (scans == 0) fail("no image data (no SOS) before EOI", pos(q));
  output();
}
