// datasets/validate.ts: the checks run on every image of an encoded data set before training. Every
// fixture the decoders accept passes the structure check (no false alarms on baseline, progressive,
// restart-marker JPEGs and every PNG colour type and interlace); truncation, a wrong magic number, an
// empty file and a zero size are caught by structure; a PNG whose data is damaged (CRC) only by the
// full decode, which stops at the byte budget.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { datasets } from '../../index.js';
import { imageStructureProblem, checkImages, withoutSamples } from '../../datasets/validate.js';
import { EncodedBuilder, ImageDataset } from '../../datasets/dataset.js';

const dir = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const fixture = (n: string) => new Uint8Array(readFileSync(dir + n));
const images = readdirSync(dir).filter((f) => /\.(jpg|png)$/.test(f));

/** A copy of a PNG with 8 bytes inside its first IDAT flipped (its structure stays whole). */
function damagedIdat(png: Uint8Array): Uint8Array {
  const d = png.slice();
  for (let o = 8; o < d.length; ) {
    const len = ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;
    if (String.fromCharCode(...d.subarray(o + 4, o + 8)) === 'IDAT') {
      for (let i = 0; i < 8; i++) d[o + 8 + (len >> 1) + i] ^= 0x5a;
      return d;
    }
    o += 12 + len;
  }
  throw new Error('no IDAT');
}

function dataset(files: [string, Uint8Array][]): ImageDataset {
  const b = new EncodedBuilder();
  files.forEach(([name, bytes], i) => b.add(bytes, i % 2, name));
  return new ImageDataset(b.build(), ['a', 'b'], 'test-set');
}

describe('image checks before training', () => {
  it('every fixture the decoders accept has a sound structure', () => {
    let accepted = 0;
    for (const f of images) {
      const b = fixture(f);
      let decodes = true;
      try {
        datasets.decodeImage(b);
      } catch {
        decodes = false;
      }
      if (!decodes) continue;
      accepted++;
      expect(imageStructureProblem(b), f).toBeNull();
    }
    expect(accepted).toBeGreaterThan(40);
  });

  it('finds truncation, a wrong header, an empty file and a zero size, naming the reason', () => {
    const jpg = fixture('baseline_420.jpg');
    const png = fixture('rgb_8.png');
    const zeroHeight = jpg.slice();
    // The SOF0 segment: FF C0, length, precision, then height (2 bytes).
    const sof = jpg.findIndex((v, i) => v === 0xff && jpg[i + 1] === 0xc0);
    zeroHeight[sof + 5] = 0;
    zeroHeight[sof + 6] = 0;
    const cases: [Uint8Array, RegExp][] = [
      [jpg.subarray(0, jpg.length - 200), /JPEG has no end-of-image marker \(truncated\)/],
      [jpg.subarray(0, 40), /JPEG segment .* runs past the end of the file \(truncated\)|ends inside its header/],
      [zeroHeight, /JPEG frame header gives a size of \d+×0/],
      [png.subarray(0, png.length - 20), /PNG chunk .* runs past the end of the file \(truncated\)|no IEND/],
      [png.subarray(0, 20), /PNG does not start with a 13-byte IHDR chunk/],
      [new TextEncoder().encode('not an image at all'), /not a JPEG or PNG file \(starts with 6e 6f 74 20\)/],
      [new Uint8Array(0), /empty file \(0 bytes\)/],
    ];
    for (const [b, re] of cases) expect(imageStructureProblem(b)).toMatch(re);
  });

  it('a damaged PNG data chunk is found by the full decode only, which stops at the byte budget', () => {
    const bad = damagedIdat(fixture('rgb_8.png'));
    expect(imageStructureProblem(bad)).toBeNull();
    const good = fixture('baseline_420.jpg');
    const ds = dataset([['x/0.jpg', good], ['x/1.png', bad], ['x/2.jpg', good.subarray(0, 100)]]);
    const full = checkImages(ds);
    expect(full.checked).toBe(3);
    expect(full.decoded).toBe(2); // the truncated one fails its structure and is not decoded
    expect(full.bad.map((b) => [b.index, b.name])).toEqual([[1, 'x/1.png'], [2, 'x/2.jpg']]);
    expect(full.bad[0].reason).toMatch(/^PNG: CRC mismatch/);
    // With no decode budget only the structure is checked.
    const structure = checkImages(ds, { decodeBytes: 0 });
    expect([structure.decoded, structure.bad.map((b) => b.index)]).toEqual([0, [2]]);
    // Within the budget: the first file (good.length bytes) is decoded, the PNG after it is not.
    expect(checkImages(ds, { decodeBytes: good.length }).decoded).toBe(1);
  });

  it('withoutSamples leaves the others, their labels and names in order', () => {
    const a = fixture('baseline_420.jpg');
    const b = fixture('rgb_8.png');
    const ds = dataset([['p/0.jpg', a], ['p/1.png', b], ['p/2.jpg', a], ['p/3.png', b]]);
    const kept = withoutSamples(ds, [1, 2]);
    expect(kept.length).toBe(2);
    expect([kept.sampleName(0), kept.sampleName(1)]).toEqual(['p/0.jpg', 'p/3.png']);
    expect([kept.label(0), kept.label(1)]).toEqual([0, 1]);
    expect(kept.bytes(1)).toEqual(b);
    expect(kept.classes).toEqual(['a', 'b']);
  });
});
