// MNIST and Fashion-MNIST: a folder (or tar/tar.gz) holding the four IDX files, gzip'd or raw, under
// their official names (`train-images-idx3-ubyte[.gz]`, also `train-images.idx3-ubyte`).

import { readIdx } from './idx.js';
import { ImageDataset, rawStore } from './dataset.js';
import { openTree, findFile, type DataSource } from './source.js';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export async function mnist(source: DataSource, opts: { train?: boolean; classes?: string[] } = {}): Promise<ImageDataset> {
  const tree = await openTree(source);
  const prefix = opts.train ?? true ? 'train' : 't10k';
  const imgRe = new RegExp(`^${prefix}-images[-.]idx3-ubyte(\\.gz)?$`);
  const lblRe = new RegExp(`^${prefix}-labels[-.]idx1-ubyte(\\.gz)?$`);
  const imgPath = findFile(tree, imgRe);
  const lblPath = findFile(tree, lblRe);
  if (!imgPath || !lblPath) throw new Error(`${tree.name}: missing ${!imgPath ? `${prefix}-images-idx3-ubyte[.gz]` : `${prefix}-labels-idx1-ubyte[.gz]`}`);
  const img = readIdx(await tree.read(imgPath), { name: `${tree.name}/${imgPath}` });
  const lbl = readIdx(await tree.read(lblPath), { name: `${tree.name}/${lblPath}` });
  if (!img.images || img.dims.length !== 3) throw new Error(`${tree.name}/${imgPath}: IDX: expected 3 dimensions (N, H, W), got [${img.dims}]`);
  if (!lbl.labels) throw new Error(`${tree.name}/${lblPath}: IDX: expected 1 dimension (N), got [${lbl.dims}]`);
  if (lbl.count !== img.count) throw new Error(`${tree.name}: ${img.count} images but ${lbl.count} labels`);
  const classes = opts.classes ?? Array.from({ length: 10 }, (_, i) => String(i));
  for (let i = 0; i < lbl.labels.length; i++) {
    if (lbl.labels[i] >= classes.length) throw new Error(`${tree.name}/${lblPath}: IDX: label ${lbl.labels[i]} at item ${i} out of range 0..${classes.length - 1}`);
  }
  return new ImageDataset(rawStore(img.images, lbl.labels, { height: img.height!, width: img.width!, channels: 1, planar: false }), classes, tree.name);
}

/** Fashion-MNIST (same files and layout as MNIST, with its class names). */
export function fashionMnist(source: DataSource, opts: { train?: boolean } = {}): Promise<ImageDataset> {
  return mnist(source, { ...opts, classes: FASHION_MNIST_CLASSES });
}
