// tar and tar.gz archives (assembly/data/tar.ts indexes the headers in place). Entries are handed to
// a callback as views into the module's memory, so a 90 MB archive is never copied whole into JS.

import { data, releaseIfLarge, type DataInstance } from './wasm.js';
import { gunzipInto, isGzip } from './inflate.js';

export interface TarEntry {
  /** Path inside the archive ('./' prefix removed). */
  path: string;
  /** ustar type flag: '0' file, '5' directory, ... */
  type: string;
  size: number;
}

const utf8 = new TextDecoder();

/**
 * Calls `fn(entry, bytes)` for each regular file of a tar or tar.gz archive. `bytes` is only valid
 * during the call (copy what you keep). Throws a DecodeError naming the file and reason on bad input.
 */
export function forEachTarEntry(archive: Uint8Array, fn: (e: TarEntry, bytes: Uint8Array) => void, opts: { name?: string } = {}): void {
  const inst = data();
  let p: number;
  let n: number;
  if (isGzip(archive)) [p, n] = gunzipInto(inst, archive, opts);
  else [p, n] = inst.run('tar', opts.name, archive, (ptr, len) => [ptr, len]);
  tarEntriesInPlace(inst, p, n, fn, opts.name);
}

/** Indexes a tar already in `inst`'s arena at [p, p+n) (e.g. just gunzipped) and visits its files. */
export function tarEntriesInPlace(inst: DataInstance, p: number, n: number, fn: (e: TarEntry, bytes: Uint8Array) => void, name?: string): void {
  const entries = inst.call('tar', name, () => {
    inst.ex.tar_index(p, n);
    const recs = inst.ex.result(0);
    const count = inst.ex.result(1);
    return new Int32Array(inst.ex.memory.buffer.slice(recs, recs + count * 24));
  });
  for (let i = 0; i < entries.length; i += 6) {
    const typeCode = entries[i + 4];
    const type = typeCode === 0 ? '0' : String.fromCharCode(typeCode);
    if (type !== '0' && type !== '7') continue;
    let path = utf8.decode(inst.bytes(entries[i], entries[i + 1]));
    while (path.startsWith('./')) path = path.slice(2);
    const size = entries[i + 3];
    fn({ path, type, size }, inst.bytes(entries[i + 2], size));
  }
  // A 100 MB archive grew this thread's WASM memory; let it go (memory never shrinks otherwise).
  releaseIfLarge();
}

/** All regular files of a tar or tar.gz archive, copied out. */
export function readTar(archive: Uint8Array, opts: { name?: string; filter?: (path: string) => boolean } = {}): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  forEachTarEntry(archive, (e, b) => {
    if (!opts.filter || opts.filter(e.path)) out.set(e.path, b.slice());
  }, opts);
  return out;
}
