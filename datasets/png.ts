// PNG only (see assembly/data/png.ts for what is accepted); decodeImage dispatches here and to JPEG.
import { sniffImage, decodeImage, type DecodedImage } from './image.js';
import { DecodeError } from './wasm.js';

export function decodePng(bytes: Uint8Array, opts: { name?: string } = {}): DecodedImage {
  if (sniffImage(bytes) !== 'PNG') throw new DecodeError('PNG', 'not a PNG file (bad signature)', opts.name, 0);
  return decodeImage(bytes, opts);
}
