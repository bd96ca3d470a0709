// JPEG only (see assembly/data/jpeg.ts for what is accepted); decodeImage dispatches here and to PNG.
import { sniffImage, decodeImage, type DecodedImage } from './image.js';
import { DecodeError } from './wasm.js';

export function decodeJpeg(bytes: Uint8Array, opts: { name?: string } = {}): DecodedImage {
  if (sniffImage(bytes) !== 'JPEG') throw new DecodeError('JPEG', 'not a JPEG file (no SOI marker)', opts.name, 0);
  return decodeImage(bytes, opts);
}
