// JPEG and PNG decoding against independent references (tests/fixtures/images, made by
// scripts/make_fixtures.py): JPEGs encoded by libjpeg-turbo's cjpeg, compared with djpeg's decode;
// PNGs written by the script with Python's zlib, compared with their source pixels.
//
// Tolerance for JPEG: 0. The decoder reproduces libjpeg's integer arithmetic (islow IDCT, fancy
// upsampling for 2×1/1×2/2×2, jdcolor fixed point), and djpeg uses the same defaults, so every variant
// matches bit for bit. (4:1:1 uses replication in both.) A faster IDCT would need ±1 here.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as datasets from '../../datasets/index.js';
import { projectRoot } from './data_dir.js';

const F = join(projectRoot, 'tests/fixtures/images');
const manifest = JSON.parse(readFileSync(join(F, 'manifest.json'), 'utf8')) as {
  jpeg: { file: string; reference: string; width: number; height: number; channels: number; progressive: boolean }[];
  png: { file: string; reference: string; width: number; height: number; channels: number; interlaced: boolean }[];
};

/** Pixels of a binary PGM/PPM (P5/P6, maxval 255). */
function readPnm(b: Uint8Array): { width: number; height: number; data: Uint8Array } {
  const fields: string[] = [];
  let p = 0;
  const ws = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
  while (fields.length < 4) {
    while (ws(b[p])) p++;
    const s = p;
    while (!ws(b[p])) p++;
    fields.push(new TextDecoder().decode(b.subarray(s, p)));
  }
  return { width: +fields[1], height: +fields[2], data: b.subarray(p + 1) };
}

describe('JPEG fixtures vs djpeg (libjpeg-turbo)', () => {
  it('covers baseline 4:4:4/4:2:2/4:2:0/4:4:0/4:1:1, grayscale, progressive and restart markers', () => {
    const names = manifest.jpeg.map((j) => j.file).join(' ');
    for (const k of ['444', '422', '420', 'gray', 'progressive', 'restart']) expect(names).toContain(k);
  });
  for (const j of manifest.jpeg) {
    it(j.file, () => {
      const img = datasets.decodeImage(readFileSync(join(F, j.file)));
      const ref = readPnm(readFileSync(join(F, j.reference)));
      expect([img.width, img.height, img.channels]).toEqual([ref.width, ref.height, j.channels]);
      let maxDiff = 0;
      for (let i = 0; i < ref.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(img.data[i] - ref.data[i]));
      expect(maxDiff, `${j.file}: max |ours − djpeg|`).toBe(0);
    });
  }
  it('refuses arithmetic coding with a message naming the format and the reason', () => {
    expect(() => datasets.decodeImage(readFileSync(join(F, 'arithmetic.jpg')))).toThrow(/^JPEG: .*arithmetic/);
  });
  it('refuses 12-bit samples and CMYK, and names the file when given', () => {
    const b = readFileSync(join(F, 'baseline_444.jpg'));
    const sof = b.indexOf(Buffer.from([0xff, 0xc0]));
    const twelve = Uint8Array.from(b);
    twelve[sof + 4] = 12;
    expect(() => datasets.decodeImage(twelve, { name: 'x.jpg' })).toThrow(/^x\.jpg: JPEG: 12-bit samples not supported/);
    const cmyk = Uint8Array.from(b);
    cmyk[sof + 9] = 4;
    expect(() => datasets.decodeImage(cmyk)).toThrow(/JPEG: 4 components not supported/);
  });
  it('refuses absurd dimensions before allocating, and truncation', () => {
    const b = Uint8Array.from(readFileSync(join(F, 'baseline_420.jpg')));
    const sof = Buffer.from(b).indexOf(Buffer.from([0xff, 0xc0]));
    b[sof + 5] = 0xff; b[sof + 6] = 0xff; b[sof + 7] = 0xff; b[sof + 8] = 0xff;
    expect(() => datasets.decodeImage(b)).toThrow(/JPEG: image is 65535×65535 pixels, above the pixel limit \(at byte \d+\)/);
    const full = readFileSync(join(F, 'progressive_420.jpg'));
    expect(() => datasets.decodeImage(full.subarray(0, full.length - 40))).toThrow(/JPEG: truncated/);
    expect(() => datasets.decodeImage(full.subarray(0, 100))).toThrow(/JPEG: truncated/);
  });
});

describe('regressions', () => {
  it('an over-subscribed DHT is refused before it writes past the lookup table (it used to damage the messages and tables kept between calls)', () => {
    const good = readFileSync(join(F, 'baseline_420.jpg'));
    const ref = datasets.decodeImage(good);
    // A DHT for AC table 3 (the last one in memory) claiming 255 codes of length 1.
    const seg = [0xff, 0xc4, (2 + 17 + 255) >> 8, (2 + 17 + 255) & 255, 0x13, 255, ...new Array(15).fill(0), ...new Array(255).fill(0)];
    const bad = Uint8Array.from([0xff, 0xd8, ...seg, 0xff, 0xd9]);
    expect(() => datasets.decodeImage(bad)).toThrow(/^JPEG: Huffman table is over-subscribed \(at byte 6\)$/);
    expect(Buffer.from(datasets.decodeImage(good).data).equals(Buffer.from(ref.data))).toBe(true);
    expect(() => datasets.decodeImage(good.subarray(0, 300))).toThrow(/^JPEG: truncated/);
  });
});

describe('limits', () => {
  it('raised limits still refuse sizes that would not fit, with a clean error (no wrap-around, no trap)', () => {
    const saved = { ...datasets.limits };
    try {
      datasets.limits.maxPixels = 2 ** 32 - 1; // the module caps it at 2^30
      const b = Uint8Array.from(readFileSync(join(F, 'baseline_444.jpg')));
      const sof = Buffer.from(b).indexOf(Buffer.from([0xff, 0xc0]));
      new DataView(b.buffer).setUint16(sof + 5, 32768); // height
      new DataView(b.buffer).setUint16(sof + 7, 32768); // width: 2^30 pixels, allowed
      b[sof + 11] = 0x44; // component 1 sampled 4×4: the coefficient planes need > 2 GiB
      expect(() => datasets.decodeImage(b)).toThrow(/^JPEG: out of memory: needs \d+ MiB, above the \d+ MiB limit$/);
      new DataView(b.buffer).setUint16(sof + 5, 65535);
      new DataView(b.buffer).setUint16(sof + 7, 65535);
      expect(() => datasets.decodeImage(b)).toThrow(/JPEG: image is 65535×65535 pixels, above the pixel limit/);
      expect(datasets.decodeImage(readFileSync(join(F, 'gray.jpg'))).width).toBe(37);
    } finally {
      Object.assign(datasets.limits, saved);
    }
  });
});

describe('scan bombs', () => {
  it('scans without data stop at once (corrupt data), and at most 256 scans are decoded', () => {
    const b = readFileSync(join(F, 'progressive_420.jpg'));
    const sos = b.indexOf(Buffer.from([0xff, 0xda]));
    const len = b.readUInt16BE(sos + 2);
    const head = b.subarray(0, sos);
    const scan = b.subarray(sos, sos + 2 + len); // the SOS header alone, no entropy-coded data
    const bomb = Buffer.concat([head, ...new Array(300).fill(scan), Buffer.from([0xff, 0xd9])]);
    expect(() => datasets.decodeImage(bomb)).toThrow(/^JPEG: corrupt data: a scan stops at a marker before its blocks are complete/);
    // 300 copies of the real first scan (with its data): refused by the scan limit.
    const next = b.indexOf(Buffer.from([0xff, 0xda]), sos + 2 + len);
    const full = b.subarray(sos, next); // the first (DC) scan: header and data, up to the next SOS
    const many = Buffer.concat([head, ...new Array(300).fill(full), Buffer.from([0xff, 0xd9])]);
    expect(() => datasets.decodeImage(many)).toThrow(/^JPEG: more than 256 scans/);
  });
});

describe('PNG fixtures vs their source pixels', () => {
  it('covers every colour type, bit depth, all five filters and Adam7', () => {
    const names = manifest.png.map((p) => p.file);
    for (const k of ['gray_1', 'gray_16', 'palette_2', 'rgb_8', 'gray_alpha_8', 'rgba_16', 'adam7', 'trns', 'filter4']) expect(names.join(' ')).toContain(k);
  });
  for (const p of manifest.png) {
    it(p.file, () => {
      const img = datasets.decodeImage(readFileSync(join(F, p.file)));
      expect([img.width, img.height, img.channels]).toEqual([p.width, p.height, p.channels]);
      expect(Buffer.from(img.data).equals(readFileSync(join(F, p.reference))), `${p.file}: pixels differ from the source`).toBe(true);
    });
  }
  it('names the reason for bad input: signature, CRC, truncation, absurd size, bad filter', () => {
    const b = readFileSync(join(F, 'rgb_8_filter4.png'));
    const sig = Uint8Array.from(b);
    sig[1] = 0;
    expect(() => datasets.decodeImage(sig)).toThrow(/^image: not a JPEG or PNG file/);
    expect(() => datasets.decodePng(sig)).toThrow(/^PNG: not a PNG file/);
    const crc = Uint8Array.from(b);
    crc[40] ^= 1;
    expect(() => datasets.decodeImage(crc, { name: 'a.png' })).toThrow(/^a\.png: PNG: CRC mismatch/);
    expect(() => datasets.decodeImage(b.subarray(0, b.length - 20))).toThrow(/PNG: truncated/);
    // A huge size with a valid CRC: refused by the pixel limit, not by running out of memory.
    const big = Uint8Array.from(b);
    const dv = new DataView(big.buffer);
    dv.setUint32(16, 100000);
    dv.setUint32(20, 100000);
    dv.setUint32(29, zlibCrc(big.subarray(12, 29)));
    expect(() => datasets.decodeImage(big)).toThrow(/PNG: image is 100000×100000 pixels, above the pixel limit/);
  });
});

function zlibCrc(b: Uint8Array): number {
  let c = ~0;
  for (const v of b) {
    c ^= v;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return ~c >>> 0;
}
