// gzip / zlib / raw deflate, decoded by the data module (assembly/data/inflate.ts). One code path in
// Node and browsers, synchronous, so PNG decoding and .gz/.tar.gz reading share it.

import { data, DecodeError, releaseIfLarge, type DataInstance } from './wasm.js';

export interface InflateOptions {
  /** Name used in error messages (a file path). */
  name?: string;
  /** Refuse to produce more than this many bytes (default 1.5 GiB). */
  maxBytes?: number;
}

const DEFAULT_MAX = 1536 * 1024 * 1024;
// The module computes capacities in 32 bits: keep the cap well inside them.
const HARD_MAX = 2 ** 31 - 65536;
const capOf = (opts: InflateOptions) => Math.min(opts.maxBytes ?? DEFAULT_MAX, HARD_MAX);

/** True when `b` starts with the gzip magic number. */
export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/**
 * gzip's ISIZE (size mod 2^32) when plausible, else a guess: it only sizes the first allocation. A
 * header field is not trusted: deflate cannot expand more than 1032:1, so a larger claim is ignored
 * (a corrupt trailer must not make a 2 KB file reserve a gigabyte).
 */
function sizeHint(b: Uint8Array, max: number): number {
  if (b.length >= 18) {
    const isize = (b[b.length - 4] | (b[b.length - 3] << 8) | (b[b.length - 2] << 16) | (b[b.length - 1] << 24)) >>> 0;
    if (isize >= b.length / 2 && isize <= max && isize <= b.length * 1032 + 1024) return isize;
  }
  return Math.min(max, Math.max(1 << 16, b.length * 4));
}

/** Runs gunzip in `inst` and leaves the output in its arena; returns [pointer, length]. */
export function gunzipInto(inst: DataInstance, bytes: Uint8Array, opts: InflateOptions = {}): [number, number] {
  const max = capOf(opts);
  return inst.run('gzip', opts.name, bytes, (p, n) => {
    inst.ex.gunzip(p, n, sizeHint(bytes, max), max);
    return [inst.ex.result(0), inst.ex.result(1)];
  });
}

/** Decompresses a gzip file (all members). Throws a DecodeError naming the reason on bad input. */
export function gunzip(bytes: Uint8Array, opts: InflateOptions = {}): Uint8Array {
  const inst = data();
  const [p, n] = gunzipInto(inst, bytes, opts);
  const out = inst.bytes(p, n).slice();
  releaseIfLarge();
  return out;
}

/** Decompresses a zlib stream (RFC 1950), checking its Adler-32. */
export function inflateZlib(bytes: Uint8Array, opts: InflateOptions = {}): Uint8Array {
  const inst = data();
  const max = capOf(opts);
  return inst.run('zlib', opts.name, bytes, (p, n) => {
    inst.ex.inflate_zlib(p, n, Math.min(max, Math.max(1 << 16, n * 4)), max);
    return inst.bytes(inst.ex.result(0), inst.ex.result(1)).slice();
  });
}

/** Decompresses raw deflate data (RFC 1951). */
export function inflateRaw(bytes: Uint8Array, opts: InflateOptions = {}): Uint8Array {
  const inst = data();
  const max = capOf(opts);
  return inst.run('deflate', opts.name, bytes, (p, n) => {
    inst.ex.inflate_raw(p, n, Math.min(max, Math.max(1 << 16, n * 4)), max);
    return inst.bytes(inst.ex.result(0), inst.ex.result(1)).slice();
  });
}

/** The bytes, gunzipped when they are gzip data. */
export function maybeGunzip(bytes: Uint8Array, opts: InflateOptions = {}): Uint8Array {
  return isGzip(bytes) ? gunzip(bytes, opts) : bytes;
}

export { DecodeError };
