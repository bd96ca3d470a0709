// DEFLATE (RFC 1951) with its zlib (RFC 1950) and gzip (RFC 1952) wrappers, one-shot: the whole
// compressed input is in memory and the output grows at the top of the arena (back-references read
// the output itself, so no separate window). Every bit read is checked against the input end; every
// back-reference against the bytes produced; the output against a host-set limit (an exact size for
// PNG, where it is known).
//
// Decoding: a 10-bit lookup table per Huffman code (entry = symbol | length << 16), with a canonical
// bit-by-bit decode (as in zlib's puff) for the rare longer codes.
//
// Not handled: preset dictionaries (zlib FDICT), streaming (input and output are whole buffers).

import { fail, alloc, extendLast, crc32, adler32, setResult } from "./common";

const FAST: u32 = 10;
const FAST_SIZE: i32 = 1 << FAST;

// One Huffman table: counts[16] u16, symbols[320] u16, fast[1024] u32.
const T_COUNTS: usize = 0;
const T_SYMS: usize = 32;
const T_FAST: usize = 32 + 640;
const T_SIZE: usize = T_FAST + <usize>FAST_SIZE * 4;

const litTable = memory.data(<i32>T_SIZE, 16);
const distTable = memory.data(<i32>T_SIZE, 16);
const clTable = memory.data(<i32>T_SIZE, 16);
const fixedLit = memory.data(<i32>T_SIZE, 16);
const fixedDist = memory.data(<i32>T_SIZE, 16);
let fixedReady = false;

const lengths = memory.data(320, 16);
const offs = memory.data(16 * 2, 16);

const LBASE = memory.data<u16>([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]);
const LEXT = memory.data<u8>([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]);
const DBASE = memory.data<u16>([1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]);
const DEXT = memory.data<u8>([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]);
const CLORDER = memory.data<u8>([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

// Bit reader (LSB first). `inBase` is where the current stream starts, for error offsets.
let inBase: usize = 0;
let inPos: usize = 0;
let inEnd: usize = 0;
let bitBuf: u64 = 0;
let bitCnt: u32 = 0;

// Output: [outStart, outPos) produced, capacity up to outEnd, at most outLimit bytes in all.
let outStart: usize = 0;
let outPos: usize = 0;
let outEnd: usize = 0;
let outLimit: usize = 0;
// Back-references may not reach before this (the start of the current gzip member).
let memberStart: usize = 0;

@inline function off(): i32 {
  return <i32>(inPos - inBase) - <i32>(bitCnt >> 3);
}

@inline function refill(): void {
  if (inPos + 8 <= inEnd) {
    bitBuf |= load<u64>(inPos) << bitCnt;
    inPos += (63 - bitCnt) >> 3;
    bitCnt |= 56;
  } else {
    while (bitCnt <= 56 && inPos < inEnd) {
      bitBuf |= (<u64>load<u8>(inPos)) << bitCnt;
      inPos++;
      bitCnt += 8;
    }
  }
}

function truncated(): void {
  fail("unexpected end of compressed data", <i32>(inEnd - inBase));
}

@inline function bits(n: u32): u32 {
  if (bitCnt < n) {
    refill();
    if (bitCnt < n) truncated();
  }
  const v = <u32>(bitBuf & ((<u64>1 << n) - 1));
  bitBuf >>= n;
  bitCnt -= n;
  return v;
}

/** Builds a canonical Huffman table from `n` code lengths at `lengths`. Incomplete codes are allowed
 * (deflate permits one-code distance trees); over-subscribed ones are not. */
function build(t: usize, n: i32, what: string): void {
  memory.fill(t + T_COUNTS, 0, 32);
  for (let s = 0; s < n; s++) {
    const l = load<u8>(lengths + s);
    store<u16>(t + T_COUNTS + (<usize>l << 1), load<u16>(t + T_COUNTS + (<usize>l << 1)) + 1);
  }
  store<u16>(t + T_COUNTS, 0);
  let left: i32 = 1;
  for (let l = 1; l <= 15; l++) {
    left <<= 1;
    left -= <i32>load<u16>(t + T_COUNTS + (<usize>l << 1));
    if (left < 0) fail(what, off());
  }
  store<u16>(offs + 2, 0);
  for (let l = 1; l < 15; l++) {
    store<u16>(offs + (<usize>(l + 1) << 1), load<u16>(offs + (<usize>l << 1)) + load<u16>(t + T_COUNTS + (<usize>l << 1)));
  }
  for (let s = 0; s < n; s++) {
    const l = load<u8>(lengths + s);
    if (l != 0) {
      const o = load<u16>(offs + (<usize>l << 1));
      store<u16>(t + T_SYMS + (<usize>o << 1), <u16>s);
      store<u16>(offs + (<usize>l << 1), o + 1);
    }
  }
  memory.fill(t + T_FAST, 0, FAST_SIZE * 4);
  let code: u32 = 0;
  let idx: u32 = 0;
  for (let l: u32 = 1; l <= FAST; l++) {
    const cnt = <u32>load<u16>(t + T_COUNTS + (<usize>l << 1));
    for (let k: u32 = 0; k < cnt; k++) {
      const sym = <u32>load<u16>(t + T_SYMS + (<usize>idx << 1));
      // Codes are stored MSB first in an LSB-first stream: index the table by the reversed code.
      const rev = reverse(code, l);
      const e = sym | (l << 16);
      for (let j = rev; j < <u32>FAST_SIZE; j += 1 << l) store<u32>(t + T_FAST + (<usize>j << 2), e);
      code++;
      idx++;
    }
    code <<= 1;
  }
}

@inline function reverse(code: u32, len: u32): u32 {
  return bitreverse32(code) >>> (32 - len);
}

@inline function bitreverse32(x: u32): u32 {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  return bswap<u32>(x);
}

function decodeSlow(t: usize): u32 {
  let code: i32 = 0;
  let first: i32 = 0;
  let index: i32 = 0;
  for (let l = 1; l <= 15; l++) {
    code |= <i32>bits(1);
    const count = <i32>load<u16>(t + T_COUNTS + (<usize>l << 1));
    if (code - first < count) return load<u16>(t + T_SYMS + (<usize>(index + code - first) << 1));
    index += count;
    first += count;
    first <<= 1;
    code <<= 1;
  }
  fail("invalid Huffman code", off());
  return 0;
}

@inline function decode(t: usize): u32 {
  if (bitCnt < 15) refill();
  const e = load<u32>(t + T_FAST + ((<usize>bitBuf & <usize>(FAST_SIZE - 1)) << 2));
  if (e != 0) {
    const l = e >>> 16;
    if (l > bitCnt) truncated();
    bitBuf >>= l;
    bitCnt -= l;
    return e & 0xffff;
  }
  return decodeSlow(t);
}

function buildFixed(): void {
  for (let i = 0; i < 144; i++) store<u8>(lengths + i, 8);
  for (let i = 144; i < 256; i++) store<u8>(lengths + i, 9);
  for (let i = 256; i < 280; i++) store<u8>(lengths + i, 7);
  for (let i = 280; i < 288; i++) store<u8>(lengths + i, 8);
  build(fixedLit, 288, "bad fixed table");
  for (let i = 0; i < 30; i++) store<u8>(lengths + i, 5);
  build(fixedDist, 30, "bad fixed table");
  fixedReady = true;
}

function readDynamic(): void {
  const nlen = <i32>bits(5) + 257;
  const ndist = <i32>bits(5) + 1;
  const ncode = <i32>bits(4) + 4;
  if (nlen > 286 || ndist > 30) fail("bad dynamic block header (too many length or distance codes)", off());
  memory.fill(lengths, 0, 19);
  for (let i = 0; i < ncode; i++) store<u8>(lengths + load<u8>(CLORDER + i), <u8>bits(3));
  build(clTable, 19, "over-subscribed code-length code");
  memory.fill(lengths, 0, 320);
  let i = 0;
  while (i < nlen + ndist) {
    const sym = decode(clTable);
    if (sym < 16) {
      store<u8>(lengths + i, <u8>sym);
      i++;
    } else {
      let len: u8 = 0;
      let rep: i32 = 0;
      if (sym == 16) {
        if (i == 0) fail("repeat of a code length with no previous length", off());
        len = load<u8>(lengths + i - 1);
        rep = 3 + <i32>bits(2);
      } else if (sym == 17) rep = 3 + <i32>bits(3);
      else rep = 11 + <i32>bits(7);
      if (i + rep > nlen + ndist) fail("code lengths overrun the table", off());
      for (let k = 0; k < rep; k++) store<u8>(lengths + i + k, len);
      i += rep;
    }
  }
  if (load<u8>(lengths + 256) == 0) fail("no end-of-block code", off());
  build(litTable, nlen, "over-subscribed literal/length code");
  // Distance lengths follow the literal lengths: move them to the front.
  memory.copy(lengths, lengths + nlen, ndist);
  build(distTable, ndist, "over-subscribed distance code");
}

// Slack kept at the end of the output so one match (≤ 258 bytes) plus the 8-byte over-copy of the
// fast copy loop never needs a capacity check inside the symbol loop.
const SLACK: usize = 258 + 8;

function growOut(need: usize): void {
  const used = outPos - outStart;
  if (used + need > outLimit + SLACK) fail("decompressed data larger than the limit of {a} bytes", off(), <i32>outLimit);
  let cap = (outEnd - outStart) * 2;
  if (cap < used + need) cap = used + need;
  if (cap > outLimit + SLACK) cap = outLimit + SLACK;
  extendLast(outStart, cap);
  outEnd = outStart + cap;
}

function inflateBlocks(): void {
  let last: u32 = 0;
  do {
    last = bits(1);
    const type = bits(2);
    if (type == 0) {
      // Stored: drop to a byte boundary and give back the whole bytes held in the bit buffer.
      bitBuf >>= bitCnt & 7;
      bitCnt &= ~7;
      inPos -= bitCnt >> 3;
      bitBuf = 0;
      bitCnt = 0;
      if (inPos + 4 > inEnd) truncated();
      const len = <u32>load<u16>(inPos);
      const nlen = <u32>load<u16>(inPos + 2);
      if ((len ^ 0xffff) != nlen) fail("stored block length does not match its complement", <i32>(inPos - inBase));
      inPos += 4;
      if (<usize>len > inEnd - inPos) truncated();
      if (outPos + <usize>len + SLACK > outEnd) growOut(<usize>len + SLACK);
      memory.copy(outPos, inPos, len);
      outPos += len;
      inPos += len;
      if (outPos - outStart > outLimit) fail("decompressed data larger than the limit of {a} bytes", off(), <i32>outLimit);
      continue;
    }
    let lt: usize, dt: usize;
    if (type == 1) {
      if (!fixedReady) buildFixed();
      lt = fixedLit;
      dt = fixedDist;
    } else if (type == 2) {
      readDynamic();
      lt = litTable;
      dt = distTable;
    } else {
      fail("invalid block type 3", off());
      return;
    }
    while (true) {
      if (outPos + SLACK > outEnd) growOut(SLACK);
      const sym = decode(lt);
      if (sym < 256) {
        store<u8>(outPos, <u8>sym);
        outPos++;
        continue;
      }
      if (sym == 256) break;
      const li = sym - 257;
      if (li >= 29) fail("invalid literal/length symbol {a}", off(), <i32>sym);
      const len = <usize>load<u16>(LBASE + (<usize>li << 1)) + bits(load<u8>(LEXT + li));
      const ds = decode(dt);
      if (ds >= 30) fail("invalid distance symbol {a}", off(), <i32>ds);
      const dist = <usize>load<u16>(DBASE + (<usize>ds << 1)) + bits(load<u8>(DEXT + ds));
      if (dist > outPos - memberStart) fail("distance {a} too far back (only {b} bytes produced)", off(), <i32>dist, <i32>(outPos - memberStart));
      let s = outPos - dist;
      if (dist >= 8) {
        // May write up to 7 bytes past the match (inside SLACK); later output overwrites them.
        for (let k: usize = 0; k < len; k += 8) store<u64>(outPos + k, load<u64>(s + k));
      } else if (dist == 1) {
        memory.fill(outPos, load<u8>(s), len);
      } else {
        for (let k: usize = 0; k < len; k++) store<u8>(outPos + k, load<u8>(s + k));
      }
      outPos += len;
      if (outPos - outStart > outLimit) fail("decompressed data larger than the limit of {a} bytes", off(), <i32>outLimit);
    }
  } while (!last);
}

function startInput(p: usize, n: usize): void {
  inBase = p;
  inPos = p;
  inEnd = p + n;
  bitBuf = 0;
  bitCnt = 0;
}

function startOutput(capacity: usize, limit: usize): void {
  if (capacity > limit) capacity = limit;
  outLimit = limit;
  outStart = alloc(capacity + SLACK);
  outPos = outStart;
  outEnd = outStart + capacity + SLACK;
  memberStart = outStart;
}

/** Byte position just after the deflate stream (its last block ends on a bit boundary). */
function endOfStream(): usize {
  return inPos - (bitCnt >> 3);
}

/** Raw deflate of [p, p+n). Results: 0 = output pointer, 1 = output length, 2 = input bytes used. */
export function inflate_raw(p: usize, n: usize, sizeHint: usize, limit: usize): void {
  startInput(p, n);
  startOutput(sizeHint, limit);
  inflateBlocks();
  setResult(0, <i32>outStart);
  setResult(1, <i32>(outPos - outStart));
  setResult(2, <i32>(endOfStream() - p));
}

/** zlib stream: header, deflate, Adler-32. Same results as inflate_raw. */
export function inflate_zlib(p: usize, n: usize, sizeHint: usize, limit: usize): void {
  startInput(p, n);
  if (n < 6) fail("zlib stream too short ({a} bytes)", 0, <i32>n);
  const cmf = <u32>load<u8>(p);
  const flg = <u32>load<u8>(p + 1);
  if ((cmf & 15) != 8 || (cmf >> 4) > 7) fail("zlib header: compression method {a} is not deflate", 0, <i32>cmf);
  if ((cmf * 256 + flg) % 31 != 0) fail("zlib header check bits are wrong", 1);
  if (flg & 0x20) fail("zlib preset dictionary not supported", 1);
  startInput(p + 2, n - 2);
  inBase = p;
  startOutput(sizeHint, limit);
  inflateBlocks();
  const e = endOfStream();
  if (e + 4 > p + n) fail("zlib stream truncated before its Adler-32 checksum", <i32>(e - p));
  const want = bswap<u32>(load<u32>(e));
  const got = adler32(outStart, outPos - outStart);
  if (want != got) fail("Adler-32 checksum mismatch (data corrupt)", <i32>(e - p));
  setResult(0, <i32>outStart);
  setResult(1, <i32>(outPos - outStart));
  setResult(2, <i32>(e + 4 - p));
}

/** gzip file (one or more members). Same results as inflate_raw. */
export function gunzip(p: usize, n: usize, sizeHint: usize, limit: usize): void {
  startInput(p, n);
  startOutput(sizeHint, limit);
  let q = p;
  const end = p + n;
  let members = 0;
  while (q < end) {
    if (members > 0) {
      // After a member: more members, or zero padding (tape blocks), else garbage.
      if (end - q < 2 || load<u8>(q) != 0x1f || load<u8>(q + 1) != 0x8b) {
        let z = q;
        while (z < end && load<u8>(z) == 0) z++;
        if (z < end) fail("trailing garbage after the gzip data", <i32>(z - p));
        break;
      }
    }
    if (end - q < 18) fail("truncated gzip header", <i32>(q - p));
    if (load<u8>(q) != 0x1f || load<u8>(q + 1) != 0x8b) fail("not gzip data (wrong magic number)", <i32>(q - p));
    if (load<u8>(q + 2) != 8) fail("gzip compression method {a} is not deflate", <i32>(q + 2 - p), load<u8>(q + 2));
    const flg = load<u8>(q + 3);
    if (flg & 0xe0) fail("reserved gzip flag bits set", <i32>(q + 3 - p));
    let h = q + 10;
    if (flg & 4) {
      if (h + 2 > end) fail("truncated gzip header", <i32>(h - p));
      const xlen = <usize>load<u16>(h);
      h += 2;
      if (xlen > end - h) fail("truncated gzip extra field", <i32>(h - p));
      h += xlen;
    }
    if (flg & 8) {
      while (h < end && load<u8>(h) != 0) h++;
      if (h >= end) fail("truncated gzip file name", <i32>(h - p));
      h++;
    }
    if (flg & 16) {
      while (h < end && load<u8>(h) != 0) h++;
      if (h >= end) fail("truncated gzip comment", <i32>(h - p));
      h++;
    }
    if (flg & 2) h += 2;
    if (h > end) fail("truncated gzip header", <i32>(q - p));
    inPos = h;
    inEnd = end;
    inBase = p;
    bitBuf = 0;
    bitCnt = 0;
    memberStart = outPos;
    const startOut = outPos;
    inflateBlocks();
    const e = endOfStream();
    if (e + 8 > end) fail("gzip data truncated before its CRC-32 and size trailer", <i32>(e - p));
    const crc = load<u32>(e);
    const isize = load<u32>(e + 4);
    if (crc32(0, startOut, outPos - startOut) != crc) fail("CRC-32 mismatch (data corrupt)", <i32>(e - p));
    if (<u32>(outPos - startOut) != isize) fail("size in the gzip trailer does not match the data", <i32>(e + 4 - p));
    q = e + 8;
    members++;
  }
  setResult(0, <i32>outStart);
  setResult(1, <i32>(outPos - outStart));
  setResult(2, <i32>n);
}
