// Tiny ImageNet (200 classes, 64×64 JPEG): wnids.txt, train/<wnid>/images/*.JPEG, val/images/*.JPEG
// with labels in val/val_annotations.txt (`file<TAB>wnid<TAB>x0 y0 x1 y1`). From the extracted folder
// or a tar/tar.gz of it (the top folder, e.g. tiny-imagenet-200/, is found through wnids.txt).
// Classes are the wnids sorted by name (so train labels equal ImageFolder's on train/).
//
// Not handled: the unlabeled test split; bounding boxes (ignored).

import { ImageDataset, EncodedBuilder } from './dataset.js';
import { openTree, readAll, findFile, type DataSource } from './source.js';
import { byCodePoint } from './imagefolder.js';

export async function tinyImageNet(source: DataSource, opts: { split?: 'train' | 'val' } = {}): Promise<ImageDataset> {
  const tree = await openTree(source);
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'val') throw new Error(`tinyImageNet: split must be 'train' or 'val', got '${String(split)}'`);
  const wnidsPath = findFile(tree, /^wnids\.txt$/);
  if (!wnidsPath) throw new Error(`${tree.name}: Tiny ImageNet: missing wnids.txt (the class list)`);
  const pre = wnidsPath.slice(0, wnidsPath.length - 'wnids.txt'.length);
  const wnids = new TextDecoder().decode(await tree.read(wnidsPath)).split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  if (wnids.length === 0) throw new Error(`${tree.name}/${wnidsPath}: Tiny ImageNet: wnids.txt lists no classes`);
  const classes = [...new Set(wnids)].sort(byCodePoint);
  const index = new Map(classes.map((c, i) => [c, i]));
  const paths: string[] = [];
  const labels: number[] = [];
  if (split === 'train') {
    const re = new RegExp(`^${pre.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}train/([^/]+)/images/[^/]+\\.jpe?g$`, 'i');
    const found: [string, number][] = [];
    for (const f of tree.files) {
      const m = re.exec(f);
      if (!m) continue;
      const label = index.get(m[1]);
      if (label === undefined) throw new Error(`${tree.name}/${f}: Tiny ImageNet: class folder ${m[1]} is not in wnids.txt`);
      found.push([f, label]);
    }
    found.sort((a, b) => a[1] - b[1] || byCodePoint(a[0], b[0]));
    for (const [f, l] of found) {
      paths.push(f);
      labels.push(l);
    }
  } else {
    const annPath = `${pre}val/val_annotations.txt`;
    if (!tree.files.includes(annPath)) throw new Error(`${tree.name}/${annPath}: Tiny ImageNet: missing annotations file (the val labels)`);
    const ann = new Map<string, number>();
    const lines = new TextDecoder().decode(await tree.read(annPath)).split(/\r?\n/);
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      const [file, wnid] = line.split('\t');
      const label = index.get(wnid?.trim());
      if (!file || label === undefined) throw new Error(`${tree.name}/${annPath}: Tiny ImageNet: line ${i + 1}: unknown class '${wnid ?? ''}'`);
      ann.set(file.trim(), label);
    });
    const imgs = tree.files.filter((f) => f.startsWith(`${pre}val/images/`) && /\.jpe?g$/i.test(f)).sort(byCodePoint);
    if (imgs.length === 0) throw new Error(`${tree.name}/${pre}val/images: Tiny ImageNet: no validation images`);
    for (const f of imgs) {
      const label = ann.get(f.split('/').pop()!);
      if (label === undefined) throw new Error(`${tree.name}/${annPath}: Tiny ImageNet: no annotation for ${f.split('/').pop()}`);
      paths.push(f);
      labels.push(label);
    }
  }
  if (paths.length === 0) throw new Error(`${tree.name}: Tiny ImageNet: no ${split} images found under ${pre}${split}/`);
  const bytes = await readAll(tree, paths);
  const b = new EncodedBuilder();
  paths.forEach((p, i) => b.add(bytes[i], labels[i], `${tree.name}/${p}`));
  return new ImageDataset(b.build(), classes, `${tree.name} (${split})`);
}
