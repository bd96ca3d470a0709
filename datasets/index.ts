// `datasets` in pugd's public API (`import { datasets } from 'pugd'`): decoders, layouts, the loader.
// Decoding runs in the data module (build/data.wasm, assembly/data/), synchronously, in Node and in
// browsers (in a page, `await datasets.ready()` first compiles the module asynchronously; see docs).

import './embedded.js';

export { decodeImage, sniffImage, type DecodedImage, type ImageFormat } from './image.js';
export { decodeJpeg } from './jpeg.js';
export { decodePng } from './png.js';
export { readIdx, type IdxData } from './idx.js';
export { readCifar, cifar10, cifar100, CIFAR10_CLASSES, type CifarData } from './cifar.js';
export { mnist, fashionMnist, FASHION_MNIST_CLASSES } from './mnist.js';
export { imageFolder } from './imagefolder.js';
export { tinyImageNet } from './tinyimagenet.js';
export { gunzip, inflateZlib, inflateRaw, isGzip } from './inflate.js';
export { readTar, forEachTarEntry, type TarEntry } from './tar.js';
export { DecodeError, ready, limits } from './wasm.js';
export { ImageDataset, type SampleStore } from './dataset.js';
export { DataLoader, mixSeed, type LoaderOptions, type LoaderState, type Batch } from './loader.js';
export { cifarTrain, cifarTest, type AugmentOptions } from './augment.js';
export { openTree, readSource, type DataSource, type Tree } from './source.js';
