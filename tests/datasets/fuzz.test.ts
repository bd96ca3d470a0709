// Fuzzing every decoder with seeded mutations of valid inputs (PUGD_FUZZ_ITERATIONS per decoder,
// default 10,000; `npm run fuzz` runs 500,000). Each input must decode or throw a DecodeError naming
// the format — never a trap ("internal decoder error"), another exception, a hang or an
// out-of-memory. For PNG, a third of the inputs get their chunk CRCs recomputed so that mutations
// reach the header checks and inflate, and a separate target mutates the IHDR fields and the
// decompressed filtered data, then rebuilds a valid container, so inputs reach the filters.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import * as datasets from '../../datasets/index.js';
import { data } from '../../datasets/wasm.js';
import { Generator } from '../../engine/random.js';
import { projectRoot } from './data_dir.js';

const ITER = Number(process.env.PUGD_FUZZ_ITERATIONS ?? 10_000);
const SEED = Number(process.env.PUGD_FUZZ_SEED ?? 20251125);
const F = join(projectRoot, 'tests/fixtures/images');
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** Concatenates byte arrays (typed-array copies: spreading 10 KB inputs into JS arrays is slow). */
function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function mutate(g: Generator, src: Uint8Array): Uint8Array {
  let b: Uint8Array = Uint8Array.from(src);
  const ops = 1 + g.int(4);
  for (let k = 0; k < ops && b.length > 0; k++) {
    const at = g.int(b.length);
    switch (g.int(8)) {
      case 0:
        b[at] ^= 1 << g.int(8);
        break;
      case 1:
        b[at] = g.nextU32() & 255;
        break;
      case 2:
        b = b.slice(0, at);
        break;
      case 3: {
        const ins = new Uint8Array(1 + g.int(16)).map(() => g.nextU32() & 255);
        b = cat(b.subarray(0, at), ins, b.subarray(at));
        break;
      }
      case 4:
        b = cat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + g.int(32))));
        break;
      case 5: {
        const len = 1 + g.int(64);
        const from = g.int(b.length);
        b = cat(b.subarray(0, at), b.slice(from, from + len), b.subarray(at));
        break;
      }
      case 6: {
        // An "interesting" 16- or 32-bit big-endian value (sizes, lengths, counts).
        const v = INTERESTING[g.int(INTERESTING.length)];
        const dv = new DataView(b.buffer);
        if (g.int(2) && at + 4 <= b.length) dv.setUint32(at, v >>> 0);
        else if (at + 2 <= b.length) dv.setUint16(at, v & 0xffff);
        break;
      }
      default:
        b[at] = [0, 0xff, 0x7f, 0x80][g.int(4)];
    }
  }
  return b;
}

/** Recomputes every PNG chunk CRC (so mutations get past the CRC check). */
function fixPngCrcs(b: Uint8Array): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let q = 8;
  while (q + 12 <= b.length) {
    const len = dv.getUint32(q);
    if (len > b.length - q - 12) break;
    dv.setUint32(q + 8 + len, zlib.crc32(b.subarray(q + 4, q + 8 + len)) >>> 0);
    q += 12 + len;
  }
  return b;
}

/**
 * Rebuilds a PNG from mutated parts: the IHDR fields (size, depth, colour type, interlace) and the
 * *decompressed* filtered data are mutated, then recompressed with valid CRCs and Adler-32, so that
 * inputs reach the size checks, the filters and the pixel unpacking.
 */
function structuralPng(g: Generator, src: Uint8Array): Uint8Array {
  // A plain copy: a Buffer's .slice shares its (pooled) memory, and .buffer is the whole pool.
  const b = Uint8Array.from(src);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const chunks: [string, Uint8Array][] = [];
  let q = 8;
  while (q + 12 <= b.length) {
    const len = dv.getUint32(q);
    chunks.push([String.fromCharCode(...b.subarray(q + 4, q + 8)), b.slice(q + 8, q + 8 + len)]);
    q += 12 + len;
  }
  const ihdr = chunks[0][1];
  const hd = new DataView(ihdr.buffer);
  switch (g.int(15)) {
    case 0: hd.setUint32(0, 1 + g.int(40)); break;
    case 1: hd.setUint32(4, 1 + g.int(40)); break;
    case 2: ihdr[8] = [1, 2, 4, 8, 16][g.int(5)]; break;
    case 3: ihdr[9] = [0, 2, 3, 4, 6][g.int(5)]; break;
    case 4: ihdr[12] ^= 1; break;
    default: // IHDR unchanged: the size matches and the data reaches the filters
  }
  const idat = Buffer.concat(chunks.filter((c) => c[0] === 'IDAT').map((c) => c[1]));
  let raw: Uint8Array = new Uint8Array(zlib.inflateSync(idat));
  if (g.int(4) === 0) raw = mutate(g, raw);
  else for (let k = 1 + g.int(6); k > 0; k--) raw[g.int(raw.length)] = g.int(3) ? g.nextU32() & 255 : g.int(8);
  const out: Buffer[] = [Buffer.from(b.subarray(0, 8))];
  const put = (type: string, d: Uint8Array) => {
    const h = Buffer.alloc(8); // alloc (not allocUnsafe): never a pooled view
    h.writeUInt32BE(d.length, 0);
    h.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([h.subarray(4), d])) >>> 0);
    out.push(h, Buffer.from(d), crc);
  };
  let wroteIdat = false;
  for (const [type, d] of chunks) {
    if (type === 'IDAT') {
      if (!wroteIdat) put('IDAT', zlib.deflateSync(raw));
      wroteIdat = true;
    } else put(type, d);
  }
  return Buffer.concat(out);
}

interface Target {
  name: string;
  format: RegExp;
  corpus: Uint8Array[];
  run(b: Uint8Array): void;
  post?: (g: Generator, b: Uint8Array) => Uint8Array;
  /** Replaces the generic mutation. */
  mutate?: (g: Generator, b: Uint8Array) => Uint8Array;
}

const targets: Target[] = [];
const saved = { ...datasets.limits };

beforeAll(() => {
  // Smaller caps keep mutated headers that claim huge images cheap to refuse (the default caps are
  // tested separately in images.test.ts).
  datasets.limits.maxPixels = 1 << 22;
  const images = readdirSync(F);
  const jpegs = images.filter((f) => f.endsWith('.jpg')).map((f) => readFileSync(join(F, f)));
  const pngs = images.filter((f) => f.endsWith('.png')).map((f) => readFileSync(join(F, f)));
  const g = new Generator(7);
  const text = new TextEncoder().encode('the quick brown fox jumps over the lazy dog '.repeat(40));
  const rnd = new Uint8Array(1500).map(() => g.nextU32() & 255);
  const payloads = [text, rnd, new Uint8Array(3000), Uint8Array.from([...text.subarray(0, 500), ...rnd.subarray(0, 500)])];
  const tar = execFileSync('tar', ['-cf', '-', '-C', F, 'gray.jpg', 'rgb_8_filter0.png', 'palette_1.png']);
  const idxImg = new Uint8Array(16 + 2 * 5 * 5);
  idxImg.set([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 5]);
  const cifar1 = new Uint8Array(2 * 3073).map((_, i) => (i % 3073 === 0 ? 3 : i & 255));
  const cifar2 = new Uint8Array(2 * 3074).map((_, i) => (i % 3074 < 2 ? 7 : i & 255));
  const inflateOpts = { maxBytes: 1 << 24 };
  targets.push(
    { name: 'JPEG', format: /JPEG: |image: not a JPEG or PNG/, corpus: jpegs, run: (b) => check(datasets.decodeImage(b)) },
    { name: 'PNG', format: /PNG: |image: not a JPEG or PNG/, corpus: pngs, run: (b) => check(datasets.decodeImage(b)), post: (g, b) => [(x: Uint8Array) => x, fixPngCrcs, (x: Uint8Array) => x][g.int(3)](b) },
    { name: 'PNG (structural)', format: /PNG: /, corpus: pngs, run: (b) => check(datasets.decodeImage(b)), mutate: structuralPng },
    { name: 'deflate (raw)', format: /deflate: /, corpus: payloads.map((p, i) => zlib.deflateRawSync(p, { level: [1, 6, 9, 9][i], strategy: i === 3 ? zlib.constants.Z_FIXED : 0 })), run: (b) => void datasets.inflateRaw(b, inflateOpts) },
    { name: 'gzip', format: /gzip: /, corpus: [...payloads.map((p) => zlib.gzipSync(p)), Buffer.concat([zlib.gzipSync(text), zlib.gzipSync(rnd)])], run: (b) => void datasets.gunzip(b, inflateOpts) },
    { name: 'tar', format: /tar: |gzip: /, corpus: [tar, zlib.gzipSync(tar)], run: (b) => void datasets.readTar(b) },
    { name: 'IDX', format: /IDX: |gzip: /, corpus: [idxImg, Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]), zlib.gzipSync(idxImg)], run: (b) => void datasets.readIdx(b) },
    { name: 'CIFAR', format: /CIFAR-10+: |gzip: /, corpus: [cifar1, cifar2], run: (b) => void datasets.readCifar(b, { labelBytes: b.length % 3074 === 0 ? 2 : 1 }) },
  );
});

afterAll(() => {
  Object.assign(datasets.limits, saved);
});

function check(img: datasets.DecodedImage): void {
  if (img.data.length !== img.width * img.height * img.channels || ![1, 2, 3, 4].includes(img.channels)) {
    throw new Error(`inconsistent output ${img.width}×${img.height}×${img.channels}, ${img.data.length} bytes`);
  }
}

describe(`fuzzing (${ITER} mutated inputs per decoder, seed ${SEED})`, () => {
  for (const name of ['JPEG', 'PNG', 'PNG (structural)', 'deflate (raw)', 'gzip', 'tar', 'IDX', 'CIFAR']) {
    it(name, () => {
      const t = targets.find((x) => x.name === name)!;
      const g = new Generator(SEED ^ name.length * 0x9e3779b1);
      // What the corpus decodes to before fuzzing: afterwards it must decode the same (a mutated input
      // that wrote outside its buffers would have damaged tables or messages kept between calls).
      const outcome = (b: Uint8Array) => {
        try {
          t.run(b);
          return 'ok';
        } catch (e) {
          return (e as Error).message;
        }
      };
      const before = t.corpus.map(outcome);
      const problems: string[] = [];
      let ok = 0;
      let refused = 0;
      let slowest = 0;
      let slowestAt = -1;
      const t0 = performance.now();
      for (let i = 0; i < ITER; i++) {
        const ti = performance.now();
        const seed = t.corpus[g.int(t.corpus.length)];
        let input = t.mutate ? t.mutate(g, seed) : mutate(g, seed);
        if (t.post) input = t.post(g, input);
        try {
          t.run(input);
          ok++;
        } catch (e) {
          const m = (e as Error).message;
          if (!(e instanceof datasets.DecodeError) || !t.format.test(m) || /internal decoder error/.test(m)) {
            if (problems.length < 5) problems.push(`input ${i} (${input.length} bytes, first ${Buffer.from(input.subarray(0, 16)).toString('hex')}): ${(e as Error).name}: ${m}`);
          } else refused++;
        }
        const dt = performance.now() - ti;
        if (dt > slowest) {
          slowest = dt;
          slowestAt = i;
        }
      }
      console.log(`${name}: ${ITER} inputs in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${ok} decoded, ${refused} refused; slowest input #${slowestAt}: ${slowest.toFixed(1)} ms`);
      expect(problems, problems.join('\n')).toEqual([]);
      expect(t.corpus.map(outcome), 'the corpus decodes as before the fuzzing').toEqual(before);
      expect(ok + refused).toBe(ITER);
      // Both outcomes occur: mutations are neither all harmless nor all fatal.
      expect(refused).toBeGreaterThan(ITER / 20);
    }, Math.max(120_000, ITER * 5));
  }

  it('a trap becomes a DecodeError and the instance keeps working', () => {
    const inst = data();
    expect(() => inst.run('test', 'f.bin', null, () => inst.ex.trap_for_tests())).toThrow(/^f\.bin: test: internal decoder error/);
    const img = datasets.decodeImage(readFileSync(join(F, 'gray.jpg')));
    expect([img.width, img.height]).toEqual([37, 29]);
  });
});
