// Shared by every decoder of the data module (build/data.wasm): the bump arena all decoders allocate
// from, the one error path (`fail`), the result slots the host reads, and checked big-endian reads.
//
// Memory: one arena above the static data. The host resets it before each call, so a decode never
// leaks and an aborted decode (error or trap) leaves nothing behind. Every size is checked against
// the host-set limit *before* memory grows, and a refused memory.grow becomes an error, not a trap.
//
// Errors: `fail` calls the host import `env.fail`, which throws a JS exception; it unwinds through the
// WASM frames, so a decoder never continues after it. The message is a static string (read by the
// host from its UTF-16 bytes), with `{a}`/`{b}` placeholders for two integers, plus a byte offset.

@external("env", "fail")
declare function hostFail(msg: usize, offset: i32, a: i32, b: i32): void;

/** Reports bad input to the host (throws there); never returns. */
export function fail(msg: string, offset: i32 = -1, a: i32 = 0, b: i32 = 0): void {
  hostFail(changetype<usize>(msg), offset, a, b);
  unreachable();
}

let arenaBase: usize = 0;
let arenaTop: usize = 0;
// Bytes the arena may hold (set by the host; 1 GiB by default).
let arenaLimit: usize = 1 << 30;
// Largest image the decoders accept, in pixels (set by the host).
export let maxPixels: u32 = 1 << 26;

// Bumped by every reset, so a decoder caching an arena pointer across calls knows it went stale.
export let arenaGeneration: u32 = 0;

export function arena_reset(): void {
  arenaBase = (__heap_base + 63) & ~(<usize>63);
  arenaTop = arenaBase;
  arenaGeneration++;
}

export function set_limits(arenaBytes: u32, pixels: u32): void {
  // Capped so that every size derived from a pixel count stays far from 32-bit wrap-around.
  arenaLimit = <usize>min<u32>(arenaBytes, 0xf0000000);
  maxPixels = min<u32>(pixels, 1 << 30);
}

export function arena_used(): usize {
  return arenaTop - arenaBase;
}

function ensureMemory(end: usize): void {
  const have = <usize>memory.size() << 16;
  if (end <= have) return;
  const pages = <i32>((end - have + 0xffff) >> 16);
  // Grow by at least a quarter of the current size so repeated growth stays amortised.
  const extra = max<i32>(pages, memory.size() >> 2);
  if (memory.grow(extra) < 0 && memory.grow(pages) < 0) {
    fail("out of memory: WebAssembly memory could not grow to {a} MiB", -1, <i32>(end >> 20));
  }
}

/** `n` bytes, 64-byte aligned, uninitialised. Fails cleanly above the limit. */
export function alloc(n: usize): usize {
  const p = (arenaTop + 63) & ~(<usize>63);
  const used = p - arenaBase;
  if (n > arenaLimit || used > arenaLimit - n) {
    fail("out of memory: needs {a} MiB more, above the {b} MiB limit", -1, <i32>(n >> 20), <i32>(arenaLimit >> 20));
  }
  ensureMemory(p + n);
  arenaTop = p + n;
  return p;
}

/**
 * alloc for a size computed from header fields, in 64 bits: a product that would wrap around in
 * 32 bits (a 1-pixel-wide, 2^26-pixel-tall JPEG with 4×4 sampling needs 2^32 bytes of coefficients)
 * is refused instead of allocating the wrapped, far too small size.
 */
export function alloc64(n: u64): usize {
  if (n > <u64>arenaLimit) {
    fail("out of memory: needs {a} MiB, above the {b} MiB limit", -1, <i32>min<u64>(n >> 20, 0x7fffffff), <i32>(arenaLimit >> 20));
  }
  return alloc(<usize>n);
}

/** Extends the most recent allocation (which starts at `p`) to `n` bytes; it stays in place. */
export function extendLast(p: usize, n: usize): void {
  const used = p - arenaBase;
  if (n > arenaLimit || used > arenaLimit - n) {
    fail("out of memory: output needs more than the {b} MiB limit", -1, <i32>(n >> 20), <i32>(arenaLimit >> 20));
  }
  ensureMemory(p + n);
  arenaTop = p + n;
}

/** Host-side allocation (input buffers): same as alloc. */
export function arena_alloc(n: usize): usize {
  return alloc(n);
}

// Result slots: decoders write their outputs (pointers, sizes, dimensions) here.
const results = memory.data(64 * 4, 16);

export function result(i: i32): i32 {
  return load<i32>(results + (<usize>(i & 63) << 2));
}

export function setResult(i: i32, v: i32): void {
  store<i32>(results + (<usize>(i & 63) << 2), v);
}

/** Big-endian u32 at p (caller has checked p + 4 <= end). */
@inline export function be32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

@inline export function be16(p: usize): u32 {
  return (<u32>load<u8>(p) << 8) | <u32>load<u8>(p + 1);
}

// CRC-32 (IEEE, reflected, as gzip and PNG use), slicing by 4.
const crcTable = memory.data(4 * 256 * 4, 16);
let crcReady = false;

function crcInit(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    store<u32>(crcTable + (<usize>n << 2), c);
  }
  for (let n: u32 = 0; n < 256; n++) {
    let c = load<u32>(crcTable + (<usize>n << 2));
    for (let t: usize = 1; t < 4; t++) {
      c = load<u32>(crcTable + (<usize>(c & 255) << 2)) ^ (c >>> 8);
      store<u32>(crcTable + (t << 10) + (<usize>n << 2), c);
    }
  }
  crcReady = true;
}

export function crc32(crc: u32, p: usize, n: usize): u32 {
  if (!crcReady) crcInit();
  let c = ~crc;
  const end = p + n;
  while (p + 4 <= end) {
    c ^= load<u32>(p);
    c =
      load<u32>(crcTable + (3 << 10) + (<usize>(c & 255) << 2)) ^
      load<u32>(crcTable + (2 << 10) + (<usize>((c >>> 8) & 255) << 2)) ^
      load<u32>(crcTable + (1 << 10) + (<usize>((c >>> 16) & 255) << 2)) ^
      load<u32>(crcTable + (<usize>(c >>> 24) << 2));
    p += 4;
  }
  while (p < end) {
    c = load<u32>(crcTable + (<usize>((c ^ load<u8>(p)) & 255) << 2)) ^ (c >>> 8);
    p++;
  }
  return ~c;
}

export function adler32(p: usize, n: usize): u32 {
  let a: u32 = 1;
  let b: u32 = 0;
  while (n > 0) {
    // 5552 is the most bytes before b can overflow 32 bits (zlib's NMAX).
    const k = n < 5552 ? n : 5552;
    n -= k;
    const end = p + k;
    while (p < end) {
      a += load<u8>(p);
      b += a;
      p++;
    }
    a %= 65521;
    b %= 65521;
  }
  return (b << 16) | a;
}
