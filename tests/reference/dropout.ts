// References for the dropout family, from the definitions (no engine imports): Philox4x32-R in
// BigInt arithmetic (Salmon, Moraes, Dror, Shaw, "Parallel Random Numbers: As Easy as 1, 2, 3",
// SC'11, §4.1; the round constants of Random123's philox.h), the stream layout of the dropout
// kernels (element i = word i mod 4 of the block at counter c + ⌊i/4⌋), and inverted dropout in
// float64.

const MASK = 0xffffffffn;
const M = [0xd2511f53n, 0xcd9e8d57n];
const W = [0x9e3779b9n, 0xbb67ae85n];

/** Philox4x32 with R rounds of counter c (4 u32 words) under key k (2 u32 words). */
export function philox4x32(c: readonly number[], k: readonly number[], rounds = 10): number[] {
  let x = c.map(BigInt);
  let key = k.map(BigInt);
  for (let r = 0; r < rounds; r++) {
    if (r > 0) key = [(key[0] + W[0]) & MASK, (key[1] + W[1]) & MASK];
    const p0 = M[0] * x[0];
    const p1 = M[1] * x[2];
    x = [(p1 >> 32n) ^ x[1] ^ key[0], p1 & MASK, (p0 >> 32n) ^ x[3] ^ key[1], p0 & MASK];
  }
  return x.map(Number);
}

/** n words of the stream: word i mod 4 of Philox4x32-10(counter + ⌊i/4⌋ as a 128-bit integer, key). */
export function philoxStream(n: number, counter: readonly number[], key: readonly number[]): Uint32Array {
  const base = counter.reduceRight((acc, w) => (acc << 32n) | BigInt(w), 0n);
  const out = new Uint32Array(n);
  for (let b = 0; 4 * b < n; b++) {
    let c = (base + BigInt(b)) & ((1n << 128n) - 1n);
    const words: number[] = [];
    for (let j = 0; j < 4; j++, c >>= 32n) words.push(Number(c & MASK));
    const r = philox4x32(words, key);
    for (let j = 0; j < 4 && 4 * b + j < n; j++) out[4 * b + j] = r[j];
  }
  return out;
}

/** The keep mask of dropout with drop probability p: keep_i = bits_i ≥ round(p·2³²) (capped at 2³² − 1). */
export function keepMask(bits: Uint32Array, p: number): boolean[] {
  const d = Math.min(Math.round(p * 2 ** 32), 2 ** 32 - 1);
  return Array.from(bits, (b) => b >= d);
}

/** Inverted dropout in float64: y = keep ? x / (1 − p) : 0 (the backward applies the same to dy). */
export function dropoutRef(x: Float64Array, keep: readonly boolean[], p: number): Float64Array {
  return x.map((v, i) => (keep[i] ? v / (1 - p) : 0));
}
