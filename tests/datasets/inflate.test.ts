// The WASM inflate (gzip, zlib, raw deflate) against Node's zlib: real data, seeded random data of
// several kinds, every zlib strategy and level, multi-member gzip; and its errors.
import { describe, it, expect } from 'vitest';
import zlib from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as datasets from '../../datasets/index.js';
import { Generator } from '../../engine/random.js';
import { dataDir, requireData } from './data_dir.js';

/** Seeded test inputs: random bytes, small alphabets, long runs, repeats at long distances, text. */
function inputs(seed: number): { name: string; data: Uint8Array }[] {
  const g = new Generator(seed);
  const out: { name: string; data: Uint8Array }[] = [];
  const n = 200_000;
  const rand = new Uint8Array(n).map(() => g.nextU32() & 255);
  out.push({ name: 'random', data: rand });
  out.push({ name: 'alphabet4', data: new Uint8Array(n).map(() => 'ACGT'.charCodeAt(g.int(4))) });
  const runs = new Uint8Array(n);
  for (let i = 0; i < n; ) {
    const len = 1 + g.int(300);
    runs.fill(g.int(3), i, i + len);
    i += len;
  }
  out.push({ name: 'runs', data: runs });
  const far = new Uint8Array(n);
  const block = rand.subarray(0, 30_000);
  for (let i = 0; i < n; i += 30_000) far.set(block.subarray(0, Math.min(30_000, n - i)), i);
  for (let k = 0; k < 500; k++) far[g.int(n)] = g.nextU32() & 255;
  out.push({ name: 'repeats-32K', data: far });
  out.push({ name: 'empty', data: new Uint8Array(0) });
  out.push({ name: 'one-byte', data: new Uint8Array([7]) });
  return out;
}

describe('inflate vs zlib', () => {
  for (const { name, data } of inputs(11)) {
    it(`${name}: every level and strategy, gzip/zlib/raw`, () => {
      for (const level of [0, 1, 6, 9]) {
        for (const strategy of [zlib.constants.Z_DEFAULT_STRATEGY, zlib.constants.Z_FILTERED, zlib.constants.Z_HUFFMAN_ONLY, zlib.constants.Z_RLE, zlib.constants.Z_FIXED]) {
          const o = { level, strategy };
          expect(Buffer.from(datasets.gunzip(zlib.gzipSync(data, o))).equals(Buffer.from(data)), `gzip ${level}/${strategy}`).toBe(true);
          expect(Buffer.from(datasets.inflateZlib(zlib.deflateSync(data, o))).equals(Buffer.from(data)), `zlib ${level}/${strategy}`).toBe(true);
          expect(Buffer.from(datasets.inflateRaw(zlib.deflateRawSync(data, o))).equals(Buffer.from(data)), `raw ${level}/${strategy}`).toBe(true);
        }
      }
    });
  }

  it('multi-member gzip (concatenated files), as gunzip(1) reads it', () => {
    const a = new TextEncoder().encode('first member\n');
    const b = new TextEncoder().encode('second member\n');
    const both = Buffer.concat([zlib.gzipSync(a), zlib.gzipSync(b)]);
    expect(new TextDecoder().decode(datasets.gunzip(both))).toBe('first member\nsecond member\n');
    expect(Buffer.from(datasets.gunzip(both)).equals(zlib.gunzipSync(both))).toBe(true);
  });

  const d = dataDir();
  it.skipIf(d.skip)('real files: the MNIST and CIFAR gzips decompress to the README sizes, equal to zlib', () => {
    const root = requireData(d);
    for (const [f, size] of [
      ['mnist/t10k-images-idx3-ubyte.gz', 7_840_016],
      ['mnist/train-labels-idx1-ubyte.gz', 60_008],
      ['fashion-mnist/t10k-images-idx3-ubyte.gz', 7_840_016],
      ['cifar-10-exact-subset/data_batch_1_first4000.bin.gz', 12_292_000],
    ] as const) {
      const gz = readFileSync(join(root, f));
      const ours = datasets.gunzip(gz, { name: f });
      expect(ours.length, f).toBe(size);
      expect(Buffer.from(ours).equals(zlib.gunzipSync(gz)), f).toBe(true);
    }
  });

  it('bad input: names the format, the reason and the offset', () => {
    const gz = zlib.gzipSync(new TextEncoder().encode('hello hello hello hello'));
    expect(() => datasets.gunzip(gz.subarray(0, gz.length - 5), { name: 'f.gz' })).toThrow(/^f\.gz: gzip: .*truncated.* \(at byte \d+\)$/);
    const bad = Uint8Array.from(gz);
    bad[bad.length - 8] ^= 0xff;
    expect(() => datasets.gunzip(bad)).toThrow(/^gzip: CRC-32 mismatch/);
    const magic = Uint8Array.from(gz);
    magic[0] = 0;
    expect(() => datasets.gunzip(magic)).toThrow(/gzip: not gzip data \(wrong magic number\) \(at byte 0\)/);
    expect(() => datasets.inflateRaw(new Uint8Array([0x07]))).toThrow(/deflate: invalid block type 3/);
  });

  it('caps the output size (a deflate bomb is refused, not allocated)', () => {
    const bomb = zlib.gzipSync(new Uint8Array(50_000_000));
    expect(() => datasets.gunzip(bomb, { maxBytes: 10_000_000 })).toThrow(/gzip: decompressed data larger than the limit of 10000000 bytes/);
  });
});
