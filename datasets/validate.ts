// Checking the encoded images of a data set (ImageFolder, the CIFAR-10 JPEG copy, Tiny ImageNet) before
// training, so a damaged file is reported up front with its name instead of stopping a run when the
// loader first draws it. Two levels:
//   structure (every file): not empty; a JPEG (FF D8 FF) whose marker segments up to the scan are whole,
//     with a frame header (SOFn) giving a non-zero width and height, and an end-of-image marker (FF D9)
//     after the scan starts (a truncated file has none); a PNG whose signature is whole, whose first
//     chunk is a 13-byte IHDR with a non-zero width and height, and whose chunks are whole up to IEND.
//   full decode (each file, while the files decoded so far total at most `decodeBytes`, 64 MiB by
//     default: all of CIFAR-10's JPEG copy or a folder of a few dozen photos; about 45 µs per 32×32
//     JPEG): the data module's decoder runs on it, as the loader's would. Bit flips inside the
//     compressed data are found only by this level.
// Raw stores (CIFAR binary, MNIST IDX) have nothing to check here: their readers check sizes.

import { ImageDataset, EncodedBuilder } from './dataset.js';
import { sniffImage, decodeInto } from './image.js';
import { data, releaseIfLarge } from './wasm.js';

export interface BadImage {
  /** Index in the data set. */
  index: number;
  /** The sample's name: its path in the folder or archive. */
  name: string;
  reason: string;
}

export interface ImageCheck {
  bad: BadImage[];
  /** Images checked, and how many of them were fully decoded. */
  checked: number;
  decoded: number;
}

export const DEFAULT_DECODE_BYTES = 64 * 1024 * 1024;

const u16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const u32 = (b: Uint8Array, o: number) => ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];

function jpegStructure(b: Uint8Array): string | null {
  let o = 2;
  let frame = false;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) return `no JPEG marker at byte ${o} (damaged header)`;
    const m = b[o + 1];
    if (m === 0xff) {
      o++; // fill byte
      continue;
    }
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) {
      o += 2;
      continue;
    }
    const len = u16(b, o + 2);
    if (len < 2 || o + 2 + len > b.length) return `JPEG segment FF${m.toString(16).toUpperCase()} at byte ${o} runs past the end of the file (truncated)`;
    // SOF0…SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (len < 8) return 'JPEG frame header is too short';
      const h = u16(b, o + 5);
      const w = u16(b, o + 7);
      if (h === 0 || w === 0) return `JPEG frame header gives a size of ${w}×${h}`;
      frame = true;
    }
    if (m === 0xda) {
      if (!frame) return 'JPEG scan starts before any frame header (SOFn)';
      const scan = o + 2 + len;
      // The end-of-image marker, searched from the end (trailing bytes after it are tolerated).
      for (let i = b.length - 2; i >= scan; i--) if (b[i] === 0xff && b[i + 1] === 0xd9) return null;
      return 'JPEG has no end-of-image marker (truncated)';
    }
    if (m === 0xd9) return 'JPEG ends before its image data';
    o += 2 + len;
  }
  return 'JPEG ends inside its header (truncated)';
}

function pngStructure(b: Uint8Array): string | null {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (b.length < 8 || sig.some((v, i) => b[i] !== v)) return 'PNG signature is damaged';
  if (b.length < 33 || u32(b, 8) !== 13 || String.fromCharCode(b[12], b[13], b[14], b[15]) !== 'IHDR') return 'PNG does not start with a 13-byte IHDR chunk';
  const w = u32(b, 16);
  const h = u32(b, 20);
  if (w === 0 || h === 0) return `PNG header gives a size of ${w}×${h}`;
  let o = 8;
  while (o + 12 <= b.length) {
    const len = u32(b, o);
    const type = String.fromCharCode(b[o + 4], b[o + 5], b[o + 6], b[o + 7]);
    if (o + 12 + len > b.length) return `PNG chunk ${JSON.stringify(type)} at byte ${o} runs past the end of the file (truncated)`;
    if (type === 'IEND') return null;
    o += 12 + len;
  }
  return 'PNG has no IEND chunk (truncated)';
}

/** Why the encoded image `b` is unusable by its structure (see the header), or null when it looks whole. */
export function imageStructureProblem(b: Uint8Array): string | null {
  if (b.length === 0) return 'empty file (0 bytes)';
  const fmt = sniffImage(b);
  if (!fmt) {
    const head = Array.from(b.subarray(0, 4), (v) => v.toString(16).padStart(2, '0')).join(' ');
    return `not a JPEG or PNG file (starts with ${head})`;
  }
  return fmt === 'JPEG' ? jpegStructure(b) : pngStructure(b);
}

/**
 * Checks every image of an encoded data set (nothing to do for raw stores): structure for all, a full
 * decode while the bytes decoded stay within `decodeBytes`.
 */
export function checkImages(ds: ImageDataset, opts: { decodeBytes?: number } = {}): ImageCheck {
  const bad: BadImage[] = [];
  if (ds.store.kind !== 'encoded') return { bad, checked: 0, decoded: 0 };
  const budget = opts.decodeBytes ?? DEFAULT_DECODE_BYTES;
  let spent = 0;
  let decoded = 0;
  for (let i = 0; i < ds.length; i++) {
    const b = ds.bytes(i);
    let reason = imageStructureProblem(b);
    if (!reason && spent + b.length <= budget) {
      spent += b.length;
      decoded++;
      try {
        decodeInto(data(), b); // no name: the report names the file once
      } catch (e) {
        reason = (e as Error).message;
      }
    }
    if (reason) bad.push({ index: i, name: ds.sampleName(i), reason });
  }
  releaseIfLarge();
  return { bad, checked: ds.length, decoded };
}

/** The data set without the samples at `drop` (an encoded store; labels and classes kept). */
export function withoutSamples(ds: ImageDataset, drop: readonly number[]): ImageDataset {
  const skip = new Set(drop);
  const b = new EncodedBuilder();
  for (let i = 0; i < ds.length; i++) if (!skip.has(i)) b.add(ds.bytes(i), ds.store.labels[i], ds.sampleName(i));
  return new ImageDataset(b.build(), ds.classes, ds.name);
}
