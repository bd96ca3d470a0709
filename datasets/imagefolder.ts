// ImageFolder (torchvision's layout): root/<class>/**/*.{jpg,jpeg,png}; classes sorted by name (label
// = index), samples sorted by path within each class. Read from a directory, a tar/tar.gz archive or a
// browser directory pick. A tree whose files all sit under one top folder is entered automatically
// unless `root` names the folder to use (e.g. 'train' in an archive holding train/ and test/).
//
// Not handled: other image formats torchvision accepts (bmp, ppm, tif, webp) — they are skipped.

import { ImageDataset, EncodedBuilder } from './dataset.js';
import { openTree, readAll, type DataSource, type Tree } from './source.js';

const IMG = /\.(jpe?g|png)$/i;

export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Strips one shared top-level folder when every file is under it. */
export function autoRoot(files: string[]): string {
  const tops = new Set(files.map((f) => (f.includes('/') ? f.split('/')[0] : '')));
  return tops.size === 1 && !tops.has('') ? [...tops][0] : '';
}

export async function imageFolderFromTree(tree: Tree, opts: { root?: string } = {}): Promise<ImageDataset> {
  let root = opts.root ?? autoRoot(tree.files);
  root = root.replace(/^\/+|\/+$/g, '');
  const pre = root ? `${root}/` : '';
  const byClass = new Map<string, string[]>();
  for (const f of tree.files) {
    if (!f.startsWith(pre) || !IMG.test(f)) continue;
    const rel = f.slice(pre.length).split('/');
    if (rel.length < 2) continue;
    let list = byClass.get(rel[0]);
    if (!list) byClass.set(rel[0], (list = []));
    list.push(f);
  }
  const where = `${tree.name}${root ? `/${root}` : ''}`;
  if (byClass.size === 0) throw new Error(`${where}: no images found in <class>/ folders (expected ${pre}<class>/*.{jpg,jpeg,png})`);
  const classes = [...byClass.keys()].sort(byCodePoint);
  const paths: string[] = [];
  const labels: number[] = [];
  classes.forEach((c, label) => {
    for (const f of byClass.get(c)!.sort(byCodePoint)) {
      paths.push(f);
      labels.push(label);
    }
  });
  const bytes = await readAll(tree, paths);
  const b = new EncodedBuilder();
  paths.forEach((p, i) => b.add(bytes[i], labels[i], `${tree.name}/${p}`));
  return new ImageDataset(b.build(), classes, where);
}

/** ImageFolder from a directory, a tar/tar.gz archive, or a browser directory pick. */
export async function imageFolder(source: DataSource, opts: { root?: string } = {}): Promise<ImageDataset> {
  return imageFolderFromTree(await openTree(source), opts);
}
