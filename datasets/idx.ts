// IDX (MNIST, Fashion-MNIST), raw or gzip'd: the header is validated by assembly/data/idx.ts.

import { data } from './wasm.js';
import { maybeGunzip } from './inflate.js';

export interface IdxData {
  /** Sizes from the header, e.g. [60000, 28, 28] or [60000]. */
  dims: number[];
  /** All the bytes after the header. */
  data: Uint8Array;
  /** Number of items (dims[0]). */
  count: number;
  /** Set for image files (3 dimensions): N×H×W u8, row-major. */
  images?: Uint8Array;
  height?: number;
  width?: number;
  /** Set for label files (1 dimension). */
  labels?: Uint8Array;
}

/** Reads an IDX file (gzip'd or raw). Throws naming the file and the reason on bad input. */
export function readIdx(bytes: Uint8Array, opts: { name?: string } = {}): IdxData {
  const raw = maybeGunzip(bytes, opts);
  const inst = data();
  // Only the header (at most 20 bytes) is copied into the module; it checks the true length.
  const [off, dims] = inst.run('IDX', opts.name, raw.subarray(0, 64), (p) => {
    inst.ex.idx_parse(p, raw.length);
    const nd2 = inst.ex.result(1);
    const d: number[] = [];
    for (let i = 0; i < nd2; i++) d.push(inst.ex.result(2 + i) >>> 0);
    return [inst.ex.result(0), d] as const;
  });
  const body = raw.subarray(off);
  const out: IdxData = { dims: [...dims], data: body, count: dims[0] };
  if (dims.length === 3) {
    out.images = body;
    out.height = dims[1];
    out.width = dims[2];
  } else if (dims.length === 1) {
    out.labels = body;
  }
  return out;
}
