// Where data comes from, in Node and in browsers: a path (file or directory) or URL string, a URL, bytes
// (Uint8Array/ArrayBuffer), a Blob/File, or a list of Files (a browser directory pick, with
// webkitRelativePath). Layouts see either one file's bytes or a tree of files; a tar/tar.gz file is a
// tree too.

import { isGzip, gunzipInto } from './inflate.js';
import { readTar, tarEntriesInPlace } from './tar.js';
import { data, releaseIfLarge } from './wasm.js';

export type DataSource = string | URL | Uint8Array | ArrayBuffer | Blob | ArrayLike<File>;

/** A read-only tree of files with '/'-separated relative paths. */
export interface Tree {
  name: string;
  files: string[];
  read(path: string): Promise<Uint8Array>;
}

const nodeLike = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';

function isUrlString(s: string): boolean {
  return /^(https?|blob|data|file):/i.test(s);
}

function describe(src: DataSource): string {
  if (typeof src === 'string') return src;
  if (src instanceof URL) return src.href;
  if (typeof Blob !== 'undefined' && src instanceof Blob) return (src as File).name || 'Blob';
  if (src instanceof Uint8Array || src instanceof ArrayBuffer) return `<${src.byteLength} bytes>`;
  return '<files>';
}

/** One file's bytes. */
export async function readSource(src: DataSource): Promise<{ bytes: Uint8Array; name: string }> {
  const name = describe(src);
  if (src instanceof Uint8Array) return { bytes: src, name };
  if (src instanceof ArrayBuffer) return { bytes: new Uint8Array(src), name };
  if (typeof Blob !== 'undefined' && src instanceof Blob) return { bytes: new Uint8Array(await src.arrayBuffer()), name };
  if (src instanceof URL || (typeof src === 'string' && (!nodeLike || isUrlString(src)))) {
    const url = src instanceof URL ? src : new URL(src, (globalThis as { location?: { href: string } }).location?.href);
    if (nodeLike && url.protocol === 'file:') {
      const { fileURLToPath } = await import('node:url');
      return readSource(fileURLToPath(url));
    }
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url.href}: HTTP ${res.status} ${res.statusText}`);
    return { bytes: new Uint8Array(await res.arrayBuffer()), name };
  }
  if (typeof src === 'string') {
    const fs = await import('node:fs/promises');
    try {
      return { bytes: new Uint8Array(await fs.readFile(src)), name };
    } catch (e) {
      throw new Error(`${src}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  throw new Error(`datasets: unsupported source ${name}`);
}

/** True for tar (ustar magic at 257, or a v7 header with a valid checksum) or gzip bytes. */
export function looksLikeArchive(b: Uint8Array): boolean {
  if (isGzip(b)) return true;
  return b.length >= 512 && b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72;
}

function treeFromMap(name: string, m: Map<string, Uint8Array>): Tree {
  return {
    name,
    files: [...m.keys()],
    read: async (p) => {
      const b = m.get(p);
      if (!b) throw new Error(`${name}: no file ${p}`);
      return b;
    },
  };
}

/** Bytes that are a tar, tar.gz, or a gzip'd single file (then a one-file tree). */
function treeFromBytes(bytes: Uint8Array, name: string): Tree {
  const base = name.split(/[\\/]/).pop()!;
  if (isGzip(bytes)) {
    // Gunzip and index in the module's memory: each file is copied out once, the tar never is.
    const inst = data();
    const [p, n] = gunzipInto(inst, bytes, { name });
    const head = inst.bytes(p, Math.min(n, 512));
    if (!(n >= 512 && head[257] === 0x75 && head[258] === 0x73 && head[259] === 0x74 && head[260] === 0x61 && head[261] === 0x72)) {
      const single = inst.bytes(p, n).slice();
      releaseIfLarge();
      return treeFromMap(name, new Map([[base.replace(/\.gz$/i, ''), single]]));
    }
    const m = new Map<string, Uint8Array>();
    tarEntriesInPlace(inst, p, n, (e, b) => m.set(e.path, b.slice()), name);
    return treeFromMap(name, m);
  }
  if (looksLikeArchive(bytes)) return treeFromMap(name, readTar(bytes, { name }));
  // A name that promises an archive, and bytes that are not one: say that, not "no images found" later.
  const hex = Array.from(bytes.subarray(0, 4), (v) => v.toString(16).padStart(2, '0')).join(' ');
  if (/\.(gz|tgz)$/i.test(base)) throw new Error(`${name}: not a gzip file (it starts with ${hex || 'nothing'}, not the gzip signature 1f 8b): damaged, or not what its name says`);
  if (/\.tar$/i.test(base)) throw new Error(`${name}: not a tar archive (no ustar header at byte 257): damaged, or not what its name says`);
  return treeFromMap(name, new Map([[base, bytes]]));
}

/**
 * The files under `root`, as '/'-separated relative paths. Symbolic links are followed, to files and to
 * folders (a folder of links to the real data is common), except a link back into a folder it is
 * already inside (a cycle). A broken link is listed, so reading it fails with an error naming it.
 */
async function listFiles(root: string, fs: typeof import('node:fs/promises'), path: typeof import('node:path')): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string, ancestors: ReadonlySet<string>) => {
    const real = await fs.realpath(dir);
    if (ancestors.has(real)) return;
    const inside = new Set(ancestors).add(real);
    for (const d of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, d.name);
      const r = rel ? `${rel}/${d.name}` : d.name;
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      if (d.isSymbolicLink()) {
        const target = await fs.stat(full).catch(() => null);
        isDir = target?.isDirectory() ?? false;
        isFile = target ? target.isFile() : true;
      }
      if (isDir) await walk(full, r, inside);
      else if (isFile) out.push(r);
    }
  };
  await walk(root, '', new Set());
  return out;
}

/** A tree: a directory, a tar/tar.gz archive, or a browser directory pick. */
export async function openTree(src: DataSource): Promise<Tree> {
  const name = describe(src);
  if (typeof src === 'string' && nodeLike && !isUrlString(src)) {
    const fs = await import('node:fs/promises');
    const path = await import('node:path');
    let st;
    try {
      st = await fs.stat(src);
    } catch (e) {
      throw new Error(`${src}: not found (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (st.isDirectory()) {
      const files = await listFiles(src, fs, path);
      return { name: src, files, read: async (p) => new Uint8Array(await fs.readFile(path.join(src, p))) };
    }
  }
  if (typeof src === 'object' && !(src instanceof URL) && !(src instanceof Uint8Array) && !(src instanceof ArrayBuffer) && !(typeof Blob !== 'undefined' && src instanceof Blob) && typeof (src as ArrayLike<File>).length === 'number') {
    const list = Array.from(src as ArrayLike<File>);
    const byPath = new Map<string, File>();
    for (const f of list) byPath.set((f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name, f);
    return { name, files: [...byPath.keys()], read: async (p) => new Uint8Array(await byPath.get(p)!.arrayBuffer()) };
  }
  const { bytes } = await readSource(src);
  return treeFromBytes(bytes, name);
}

/** Reads many files with bounded concurrency (directories of 100k small files). */
export async function readAll(tree: Tree, paths: string[], concurrency = 64): Promise<Uint8Array[]> {
  const out: Uint8Array[] = new Array(paths.length);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      out[i] = await tree.read(paths[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return out;
}

/** The shortest path in the tree whose last component matches `re`. */
export function findFile(tree: Tree, re: RegExp): string | undefined {
  let best: string | undefined;
  for (const f of tree.files) {
    const base = f.split('/').pop()!;
    if (re.test(base) && (best === undefined || f.length < best.length)) best = f;
  }
  return best;
}
