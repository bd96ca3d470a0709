// decodeImage: JPEG or PNG (told apart by their magic numbers) → 8-bit interleaved pixels.
// Formats: see assembly/data/jpeg.ts and assembly/data/png.ts for what each decoder accepts.

import { data, DecodeError, type DataInstance } from './wasm.js';

/** Decoded pixels: `channels` (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) interleaved, row-major. */
export interface DecodedImage {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export type ImageFormat = 'JPEG' | 'PNG';

/** 'JPEG', 'PNG' or null, from the first bytes. */
export function sniffImage(b: Uint8Array): ImageFormat | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'JPEG';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'PNG';
  return null;
}

/**
 * Runs the decoder in `inst`, leaving the pixels in its arena: [pointer, width, height, channels].
 * The loader's workers use this to augment without copying the pixels out.
 */
export function decodeInto(inst: DataInstance, bytes: Uint8Array, name?: string): [number, number, number, number] {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`decodeImage: expected a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  const fmt = sniffImage(bytes);
  if (!fmt) {
    const head = Array.from(bytes.subarray(0, 4), (v) => v.toString(16).padStart(2, '0')).join(' ');
    throw new DecodeError('image', `not a JPEG or PNG file (starts with ${head || 'nothing'})`, name, 0);
  }
  return inst.run(fmt, name, bytes, (p, n) => {
    if (fmt === 'JPEG') inst.ex.jpeg_decode(p, n);
    else inst.ex.png_decode(p, n);
    return [inst.ex.result(0), inst.ex.result(1), inst.ex.result(2), inst.ex.result(3)];
  });
}

/**
 * Decodes a JPEG (baseline or progressive) or PNG image. Throws a DecodeError (an Error) whose message
 * names the format and the reason on bad input.
 *
 * @example
 *   const { width, height, channels, data } = datasets.decodeImage(bytes);
 */
export function decodeImage(bytes: Uint8Array, opts: { name?: string } = {}): DecodedImage {
  const inst = data();
  const [p, width, height, channels] = decodeInto(inst, bytes, opts.name);
  return { width, height, channels, data: inst.bytes(p, width * height * channels).slice() };
}
