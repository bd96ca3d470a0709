// The seams between the CLI and the engine's optimizers (engine/optim), learning-rate schedules and
// data sets (datasets/): each turns a RunConfig into the small interface the training loop uses
// (cli/trainer.ts), so the loop never depends on their concrete types.
//
// Schedules: per epoch as the PUGD reference (cosine annealing to 0 over the epochs after warm-up,
// SPEC §1.4), with the warm-up linear per step from lr/W to lr over W = warmup·batchesPerEpoch steps.
// The values come from optim.lr_scheduler's closed forms, evaluated for (epoch, batch) directly, so a
// resumed run needs no scheduler state.
// Data: the datasets module reads each format; this file picks the layout (the CIFAR-10 JPEG copy in
// ../shared is an ImageFolder archive with train/ and test/), per-data-set normalisation and
// augmentation, --limit-* subsets (class-balanced for data sets stored class by class), and adapts
// the DataLoader to one epoch at a time.

import type { Module } from '../engine/nn/module.js';
import type { Tensor } from '../engine/tensor.js';
import { SGD, PUGD, SAM, Adam, AdamW, UGD, type Closure, type OptimizerStateDict } from '../engine/optim/index.js';
import { CosineAnnealingLR, MultiStepLR } from '../engine/optim/lr_scheduler.js';
import { DataLoader, cifar10, cifar100, mnist, fashionMnist, tinyImageNet, openTree, ImageDataset, type AugmentOptions, type Batch as LoaderBatch } from '../datasets/index.js';
import { imageFolderFromTree } from '../datasets/imagefolder.js';
import { EncodedBuilder, rawStore } from '../datasets/dataset.js';
import { checkImages, withoutSamples, type BadImage } from '../datasets/validate.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from './args.js';
import type { Batch, Loader, LrSchedule, StepOptimizer } from './trainer.js';
import type { DatasetName, OptimizerName } from './commands.js';
import type { RunConfig } from './config.js';
import type { SelectedBackend } from './backend.js';

/** The defaults that depend on the optimizer: lr and weight decay (PyTorch's for Adam/AdamW). */
export function defaultHyper(opt: OptimizerName): { lr: number; weightDecay: number } {
  if (opt === 'adam') return { lr: 1e-3, weightDecay: 0 };
  if (opt === 'adamw') return { lr: 1e-3, weightDecay: 0.01 };
  return { lr: 0.1, weightDecay: 5e-4 };
}

// ---- optimizers ----------------------------------------------------------------------------------

/** What the CLI uses of an engine optimizer (every optim class has it, whatever its hyper-parameters). */
interface EngineOptimizer {
  readonly paramGroups: readonly Record<string, unknown>[];
  step(closure: Closure): Promise<unknown>;
  zeroGrad(): void;
  stateDict(): OptimizerStateDict;
  loadStateDict(s: OptimizerStateDict): void;
  dispose(): void;
}

/** The engine optimizer named by --optimizer, behind the loop's StepOptimizer interface. */
export function createOptimizer(config: RunConfig, model: Module): StepOptimizer & { inner: EngineOptimizer } {
  const params = model.parameters();
  const sgdLike = { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay };
  const adamLike = { lr: config.lr, betas: [config.momentum, 0.999] as [number, number], weightDecay: config.weightDecay };
  let inner: EngineOptimizer;
  switch (config.optimizer) {
    case 'pugd': inner = new PUGD(params, sgdLike); break;
    case 'sgd': inner = new SGD(params, sgdLike); break;
    case 'ugd': inner = new UGD(params, sgdLike); break;
    case 'sam': inner = new SAM(params, { ...sgdLike, rho: 0.05 }); break;
    // ASAM's paper radius for CIFAR with SGD.
    case 'asam': inner = new SAM(params, { ...sgdLike, rho: 0.5, adaptive: true }); break;
    case 'adam': inner = new Adam(params, adamLike); break;
    case 'adamw': inner = new AdamW(params, adamLike); break;
    default: throw new InputError(`--optimizer: unknown optimizer '${String(config.optimizer)}'`);
  }
  return {
    inner,
    async step(closure: () => Tensor) {
      // The engine's closure protocol: zero the gradients, forward, backward, return the loss.
      await inner.step(() => {
        inner.zeroGrad();
        return closure();
      });
      // A WASM step never waits on anything outside this thread, so without this the loop would not
      // let a signal handler run (Ctrl-C seen only at the end of the epoch): the trainer checks for a
      // stop right after the step.
      await yieldToEventLoop();
    },
    setLr(lr: number) {
      for (const g of inner.paramGroups) g.lr = lr; // what optim.lr_scheduler does too
    },
    zeroGrad: () => inner.zeroGrad(),
    stateDict: () => inner.stateDict(),
    loadStateDict: (s: unknown) => inner.loadStateDict(s as OptimizerStateDict),
  };
}

/** Lets queued events (signals, timers, I/O) run before the caller goes on. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// ---- schedules -----------------------------------------------------------------------------------

export function createSchedule(config: RunConfig): LrSchedule {
  const base = config.lr;
  const warm = config.warmup;
  const T = config.epochs - warm;
  // The schedulers are used for their closed forms only: bound to a holder, not to the optimizer.
  const holder = { paramGroups: [{ lr: base }] };
  let after: (t: number) => number;
  if (config.schedule === 'cosine') {
    const s = new CosineAnnealingLR(holder, { TMax: T });
    after = (t) => s.lrAt(t, base);
  } else if (config.schedule === 'step') {
    const milestones = [...new Set([Math.max(1, Math.round(T / 2)), Math.max(1, Math.round((3 * T) / 4))])];
    const s = new MultiStepLR(holder, { milestones, gamma: 0.1 });
    after = (t) => s.lrAt(t, base);
  } else {
    after = () => base;
  }
  return {
    lrAt(epoch, batch, batchesPerEpoch) {
      const W = warm * batchesPerEpoch;
      const s = epoch * batchesPerEpoch + batch;
      if (s < W) return (base * (s + 1)) / W;
      return after(epoch - warm);
    },
    describe: () => ({ schedule: config.schedule, lr: base, warmupEpochs: warm, epochs: config.epochs, unit: 'epoch' }),
  };
}

// ---- data ----------------------------------------------------------------------------------------

export interface OpenedData {
  train: Loader;
  test?: Loader;
  numClasses: number;
  imageShape: readonly [number, number, number];
  /** Where the data came from, for the log. */
  source: string;
  /** Images left out because they cannot be read (--skip-bad-images), with the split and the reason. */
  skipped: (BadImage & { split: string })[];
  close(): Promise<void>;
}

/** Lines listing the images --skip-bad-images left out (at most `max`, then a count). */
export function describeSkipped(skipped: OpenedData['skipped'], max = 20): string[] {
  if (!skipped.length) return [];
  const lines = [`pugd: --skip-bad-images: left out ${skipped.length} image${skipped.length > 1 ? 's' : ''} that cannot be read:`];
  for (const s of skipped.slice(0, max)) lines.push(`  ${s.name} (${s.split}): ${s.reason}`);
  if (skipped.length > max) lines.push(`  … and ${skipped.length - max} more (all are listed in config.json as skippedImages)`);
  return lines;
}

/** Per-channel mean and std (of the training sets, as commonly used). */
const NORM: Record<DatasetName, { mean: number[]; std: number[] }> = {
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  cifar100: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] },
  mnist: { mean: [0.1307], std: [0.3081] },
  'fashion-mnist': { mean: [0.286], std: [0.353] },
  'tiny-imagenet': { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  imagefolder: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};

/** Training augmentation: random crop with padding (1/8 of the side) and, except for digits, flips. */
function augmentFor(name: DatasetName, size: number, on: boolean): AugmentOptions {
  const n = NORM[name];
  if (!on) return { mean: n.mean, std: n.std };
  const digits = name === 'mnist';
  return { padding: Math.max(2, Math.round(size / 8)), flip: !digits, mean: n.mean, std: n.std };
}

/** The file in a folder matching `re`, if any. */
function fileIn(dir: string, re: RegExp): string | null {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return null;
  const f = readdirSync(dir).find((n) => re.test(n));
  return f ? join(dir, f) : null;
}

async function readSplits(name: DatasetName, path: string, testOnly: boolean): Promise<{ train: ImageDataset | null; test: ImageDataset | null; layout: string }> {
  const both = async (f: (train: boolean) => Promise<ImageDataset>) => ({ train: testOnly ? null : await f(true), test: await f(false) });
  switch (name) {
    case 'cifar10': {
      // The JPEG copy (a tar.gz of train/<class>/ and test/<class>/) next to the official formats.
      const jpeg = /\.tar\.gz$/.test(path) && /jpeg|jpg/i.test(path) ? path : fileIn(path, /^cifar-10-jpeg.*\.tar\.gz$/);
      if (jpeg) {
        const tree = await openTree(jpeg);
        return { train: testOnly ? null : await imageFolderFromTree(tree, { root: 'train' }), test: await imageFolderFromTree(tree, { root: 'test' }), layout: `CIFAR-10 JPEG copy ${jpeg}` };
      }
      const archive = fileIn(path, /^cifar-10-binary\.tar\.gz$/) ?? path;
      return { ...(await both((train) => cifar10(archive, { train }))), layout: `CIFAR-10 ${archive}` };
    }
    case 'cifar100': {
      const archive = fileIn(path, /^cifar-100-binary\.tar\.gz$/) ?? path;
      return { ...(await both((train) => cifar100(archive, { train }))), layout: `CIFAR-100 ${archive}` };
    }
    case 'mnist':
      return { ...(await both((train) => mnist(path, { train }))), layout: `MNIST ${path}` };
    case 'fashion-mnist':
      return { ...(await both((train) => fashionMnist(path, { train }))), layout: `Fashion-MNIST ${path}` };
    case 'tiny-imagenet':
      return { train: testOnly ? null : await tinyImageNet(path, { split: 'train' }), test: await tinyImageNet(path, { split: 'val' }), layout: `Tiny ImageNet ${path} (val as test)` };
    case 'imagefolder': {
      const tree = await openTree(path);
      const tops = new Set(tree.files.map((f) => f.split('/')[0]));
      const testRoot = ['test', 'val', 'valid', 'validation'].find((t) => tops.has(t));
      if (!tops.has('train')) throw new InputError(`--data ${path}: an ImageFolder needs a train/ folder of class folders (found: ${[...tops].slice(0, 8).join(', ') || 'nothing'})`);
      return {
        train: testOnly ? null : await imageFolderFromTree(tree, { root: 'train' }),
        test: testRoot ? await imageFolderFromTree(tree, { root: testRoot }) : null,
        layout: `ImageFolder ${path} (train/${testRoot ? `, ${testRoot}/` : ', no test split'})`,
      };
    }
  }
}

/** Whether samples are stored class by class (then --limit-* takes classes in turn, not the first N). */
function groupedByClass(ds: ImageDataset): boolean {
  const l = ds.store.labels;
  let changes = 0;
  for (let i = 1; i < l.length; i++) if (l[i] !== l[i - 1]) changes++;
  return changes < ds.classes.length;
}

/** The first `n` samples, or for class-grouped data the first of each class in turn (balanced). */
export function limitDataset(ds: ImageDataset, n: number | undefined): ImageDataset {
  if (n === undefined || n >= ds.length) return ds;
  let idx: number[];
  if (groupedByClass(ds)) {
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < ds.length; i++) {
      const c = ds.store.labels[i];
      if (!byClass.has(c)) byClass.set(c, []);
      byClass.get(c)!.push(i);
    }
    const lists = [...byClass.values()];
    idx = [];
    for (let k = 0; idx.length < n; k++) for (const l of lists) if (k < l.length && idx.length < n) idx.push(l[k]);
  } else {
    idx = Array.from({ length: n }, (_, i) => i);
  }
  const s = ds.store;
  if (s.kind === 'encoded') {
    const b = new EncodedBuilder();
    for (const i of idx) b.add(ds.bytes(i), s.labels[i], ds.sampleName(i));
    return new ImageDataset(b.build(), ds.classes, ds.name);
  }
  const per = s.height * s.width * s.channels;
  const px = new Uint8Array(idx.length * per);
  idx.forEach((i, k) => px.set(ds.bytes(i), k * per));
  return new ImageDataset(rawStore(px, idx.map((i) => s.labels[i]), { height: s.height, width: s.width, channels: s.channels, planar: s.planar }), ds.classes, ds.name);
}

/** One epoch at a time over the engine's DataLoader (which iterates every epoch in one sequence). */
class EpochLoader implements Loader {
  readonly batchesPerEpoch: number;
  constructor(private readonly dl: DataLoader, readonly numExamples: number, readonly imageShape: readonly [number, number, number], private readonly restartEachEpoch: boolean) {
    this.batchesPerEpoch = dl.batchesPerEpoch();
  }
  async *epochBatches(): AsyncIterable<Batch> {
    if (this.restartEachEpoch) this.dl.setState({ ...this.dl.state(), epoch: 0, batch: 0 });
    const st = this.dl.state();
    // After an epoch's last batch the loader's position is (epoch, batchesPerEpoch): its next batch
    // is the first of the following epoch.
    const start = st.batch >= this.batchesPerEpoch ? 0 : st.batch;
    for (let b = start; b < this.batchesPerEpoch; b++) {
      const next: LoaderBatch | null = await this.dl.next();
      if (!next) throw new Error(`the data loader ended early (epoch ${st.epoch + 1}, batch ${b + 1} of ${this.batchesPerEpoch})`);
      yield { x: next.x, y: next.y };
    }
  }
  state(): unknown {
    return this.dl.state();
  }
  loadState(s: unknown): void {
    this.dl.setState(s as ReturnType<DataLoader['state']>);
  }
  close(): void {
    this.dl.close();
  }
}

/**
 * The images of an encoded split checked before any training (datasets/validate.ts): a bad one is an
 * InputError naming it, or with --skip-bad-images it is left out and listed in `skipped`.
 */
function usableImages(ds: ImageDataset, split: string, config: RunConfig, opts: { testOnly?: boolean; resumed?: boolean }, skipped: OpenedData['skipped']): ImageDataset {
  const c = checkImages(ds);
  if (!c.bad.length) return ds;
  const first = `${c.bad[0].name}: ${c.bad[0].reason}`;
  const more = c.bad.length > 1 ? ` (and ${c.bad.length - 1} more of the ${c.checked} ${split} images)` : '';
  if (!config.skipBadImages) {
    const fix = opts.resumed
      ? 'fix or restore them (a resumed run reads the images it trained on)'
      : `fix or remove them, or give --skip-bad-images to ${opts.testOnly ? 'evaluate' : 'train on'} the rest`;
    throw new InputError(`--data ${config.data}: an image cannot be read: ${first}${more}; ${fix}`);
  }
  if (c.bad.length === ds.length) throw new InputError(`--data ${config.data}: none of the ${ds.length} ${split} images can be read (${first})`);
  skipped.push(...c.bad.map((b) => ({ ...b, split })));
  return withoutSamples(ds, c.bad.map((b) => b.index));
}

export async function openData(config: RunConfig, backend: SelectedBackend, opts: { testOnly?: boolean; resumed?: boolean } = {}): Promise<OpenedData> {
  void backend;
  let splits: Awaited<ReturnType<typeof readSplits>>;
  try {
    splits = await readSplits(config.dataset, config.data, Boolean(opts.testOnly));
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`--data ${config.data}: cannot read it as ${config.dataset}: ${(e as Error).message.split('\n')[0]}`);
  }
  const skipped: OpenedData['skipped'] = [];
  const train = splits.train ? usableImages(limitDataset(splits.train, config.limitTrain), 'train', config, opts, skipped) : null;
  const test = splits.test ? usableImages(limitDataset(splits.test, config.limitTest), 'test', config, opts, skipped) : null;
  const ref = (train ?? test)!;
  const channels = config.dataset === 'mnist' || config.dataset === 'fashion-mnist' ? 1 : 3;
  const first = ref.store.kind === 'raw' ? { height: ref.store.height, width: ref.store.width } : ref.image(0);
  const size = first.height;
  if (first.width !== size) throw new InputError(`--data ${config.data}: images are ${first.width}×${first.height}; pugd trains on square images`);
  const imageShape = [channels, size, size] as const;
  // Two worker threads keep decoding (JPEG) off the training thread; raw pixels need only one.
  const workers = ref.store.kind === 'encoded' ? 2 : 1;
  const loaders: DataLoader[] = [];
  const trainLoader = train
    ? new DataLoader(train, { batchSize: config.batchSize, shuffle: true, seed: config.seed, epochs: config.epochs, augment: augmentFor(config.dataset, size, config.augment), size: [size, size], channels, workers })
    : null;
  if (trainLoader) loaders.push(trainLoader);
  const testLoader = test
    ? new DataLoader(test, { batchSize: Math.max(config.batchSize, 100), shuffle: false, seed: 0, epochs: 1, augment: augmentFor(config.dataset, size, false), size: [size, size], channels, workers })
    : null;
  if (testLoader) loaders.push(testLoader);
  return {
    train: trainLoader ? new EpochLoader(trainLoader, train!.length, imageShape, false) : (undefined as unknown as Loader),
    test: testLoader ? new EpochLoader(testLoader, test!.length, imageShape, true) : undefined,
    numClasses: ref.classes.length,
    imageShape,
    source: splits.layout,
    skipped,
    async close() {
      for (const l of loaders) l.close();
    },
  };
}
