// CIFAR-10 / CIFAR-100 binary batches (assembly/data/cifar.ts checks sizes and label ranges).

import { data } from './wasm.js';
import { maybeGunzip } from './inflate.js';

export interface CifarData {
  count: number;
  /** N×3×32×32 u8, planar (the file's own layout). */
  images: Uint8Array;
  /** CIFAR-10 labels, or CIFAR-100 fine labels. */
  labels: Uint8Array;
  /** CIFAR-100 coarse labels (labelBytes 2). */
  coarseLabels?: Uint8Array;
}

/**
 * Reads CIFAR binary records (`data_batch_N.bin`, `test_batch.bin`; CIFAR-100 `train.bin`/`test.bin`
 * with `labelBytes: 2`), raw or gzip'd.
 */
export function readCifar(bytes: Uint8Array, opts: { labelBytes?: 1 | 2; name?: string } = {}): CifarData {
  const labelBytes = opts.labelBytes ?? 1;
  const raw = maybeGunzip(bytes, opts);
  const inst = data();
  return inst.run(labelBytes === 2 ? 'CIFAR-100' : 'CIFAR-10', opts.name, raw, (p, n) => {
    inst.ex.cifar_parse(p, n, labelBytes);
    const count = inst.ex.result(3);
    const out: CifarData = {
      count,
      images: inst.bytes(inst.ex.result(0), count * 3072).slice(),
      labels: inst.bytes(inst.ex.result(1), count).slice(),
    };
    if (labelBytes === 2) out.coarseLabels = inst.bytes(inst.ex.result(2), count).slice();
    return out;
  });
}

// ---- layouts: the official archives, their extracted folders, or single batch files --------------

import { ImageDataset, rawStore } from './dataset.js';
import { openTree, findFile, type DataSource, type Tree } from './source.js';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

async function names(tree: Tree, re: RegExp): Promise<string[] | null> {
  const f = findFile(tree, re);
  if (!f) return null;
  return new TextDecoder().decode(await tree.read(f)).split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
}

function concat(parts: CifarData[], coarse: boolean): { images: Uint8Array; labels: Uint8Array } {
  const n = parts.reduce((a, p) => a + p.count, 0);
  const images = new Uint8Array(n * 3072);
  const labels = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    images.set(p.images, o * 3072);
    labels.set(coarse ? p.coarseLabels! : p.labels, o);
    o += p.count;
  }
  return { images, labels };
}

async function readBatches(tree: Tree, re: RegExp, labelBytes: 1 | 2, what: string): Promise<CifarData[]> {
  let files = tree.files.filter((f) => re.test(f.split('/').pop()!)).sort();
  // A single file given directly (e.g. data_batch_1.bin.gz or a renamed batch) is read as it is.
  if (files.length === 0 && tree.files.length === 1) files = tree.files;
  if (files.length === 0) throw new Error(`${tree.name}: no ${what} files found (looked for ${re})`);
  const out: CifarData[] = [];
  for (const f of files) out.push(readCifar(await tree.read(f), { labelBytes, name: `${tree.name}${tree.files.length > 1 ? `/${f}` : ''}` }));
  return out;
}

/**
 * CIFAR-10 from `cifar-10-binary.tar.gz`, its extracted `cifar-10-batches-bin/` folder, or one batch
 * file (.bin or .bin.gz). Images are stored raw (planar 3×32×32).
 */
export async function cifar10(source: DataSource, opts: { train?: boolean } = {}): Promise<ImageDataset> {
  const tree = await openTree(source);
  const train = opts.train ?? true;
  const parts = await readBatches(tree, train ? /^data_batch_[1-5]\.bin(\.gz)?$/ : /^test_batch\.bin(\.gz)?$/, 1, train ? 'data_batch_N.bin' : 'test_batch.bin');
  const { images, labels } = concat(parts, false);
  const classes = (await names(tree, /^batches\.meta\.txt$/)) ?? CIFAR10_CLASSES;
  return new ImageDataset(rawStore(images, labels, { height: 32, width: 32, channels: 3, planar: true }), classes, tree.name);
}

/** CIFAR-100 from `cifar-100-binary.tar.gz` or its folder: fine (default) or coarse labels. */
export async function cifar100(source: DataSource, opts: { train?: boolean; labels?: 'fine' | 'coarse' } = {}): Promise<ImageDataset> {
  const tree = await openTree(source);
  const train = opts.train ?? true;
  const coarse = opts.labels === 'coarse';
  const parts = await readBatches(tree, train ? /^train\.bin(\.gz)?$/ : /^test\.bin(\.gz)?$/, 2, train ? 'train.bin' : 'test.bin');
  const { images, labels } = concat(parts, coarse);
  const classes =
    (await names(tree, coarse ? /^coarse_label_names\.txt$/ : /^fine_label_names\.txt$/)) ??
    Array.from({ length: coarse ? 20 : 100 }, (_, i) => `class${i}`);
  return new ImageDataset(rawStore(images, labels, { height: 32, width: 32, channels: 3, planar: true }), classes, tree.name);
}
