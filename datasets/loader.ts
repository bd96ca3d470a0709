// DataLoader: seeded shuffling, batches, drop-last, epochs, augmentation; decoding and augmentation in
// worker threads (worker_threads in Node, Web Workers in browsers) with prefetch; batches come back as
// `{ x: Tensor [N,C,H,W] f32, y: Tensor [N] i32 }` on the current backend. The consumer disposes them.
//
// Determinism: every random choice is drawn on this thread from engine/random.ts's xoshiro128**
// generators, seeded per epoch and per batch from (seed, epoch, batch) through a 32-bit mix:
//   permutation of epoch e: Generator(mix(seed, e, 0)) → Fisher–Yates over 0..N−1
//   crops/flips of batch b: Generator(mix(seed, e, b + 1)) → per sample: crop y, crop x, flip
// so batch b of epoch e is the same bits for any worker count, and the loader's whole state is
// { seed, epoch, batch }: `state()` / `setState()` resume exactly (checkpoints).
//
// Not handled: samplers other than shuffle/sequential, distributed sharding.

import { Generator } from '../engine/random.js';
import { tensor } from '../engine/create.js';
import type { Tensor } from '../engine/tensor.js';
import type { ImageDataset } from './dataset.js';
import { assembleBatch, normParams, type AugmentOptions, type BatchConfig } from './augment.js';
import { data, dataModule } from './wasm.js';
import { dataWorkerSource } from '../engine/generated/data_worker.js';

export interface LoaderOptions {
  batchSize: number;
  /** Reshuffle every epoch (default true). */
  shuffle?: boolean;
  /** Seed of every random choice (default 0). */
  seed?: number;
  /** Drop the last incomplete batch of each epoch (default false). */
  dropLast?: boolean;
  /** Epochs to iterate (default 1). */
  epochs?: number;
  augment?: AugmentOptions;
  /** Output [height, width] (default: the dataset's image size; images of other sizes are resized). */
  size?: [number, number];
  /** Output channels, 1 or 3 (default: the dataset's; gray↔RGB converted, alpha dropped). */
  channels?: number;
  /** Worker threads (default 2; 0 = assemble batches on this thread). */
  workers?: number;
  /** Batches in flight ahead of the consumer (default 2 per worker, at least 2). */
  prefetch?: number;
}

export interface LoaderState {
  seed: number;
  epoch: number;
  /** Next batch to hand out within the epoch. */
  batch: number;
}

export interface Batch {
  x: Tensor;
  y: Tensor;
  epoch: number;
  batch: number;
}

/** 32-bit mix of integers (splitmix/murmur finaliser steps); documents how seeds are derived. */
export function mixSeed(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

interface WorkerLike {
  post(m: unknown, transfer?: Transferable[]): void;
  onMessage(fn: (m: { type: string; id: number; x?: Float32Array; y?: Int32Array; message?: string }) => void): void;
  ref(): void;
  unref(): void;
  terminate(): void;
}

async function spawnWorker(): Promise<WorkerLike> {
  const nodeLike = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
  if (nodeLike) {
    const { Worker } = await import('node:worker_threads');
    // The worker script is classic JS: do not pass on --input-type=module from a `node -e` parent.
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    const w = new Worker(dataWorkerSource, { eval: true, execArgv });
    w.unref();
    return {
      post: (m, t) => w.postMessage(m, t as never),
      onMessage: (fn) => w.on('message', fn),
      ref: () => w.ref(),
      unref: () => w.unref(),
      terminate: () => void w.terminate(),
    };
  }
  const url = URL.createObjectURL(new Blob([dataWorkerSource], { type: 'text/javascript' }));
  const w = new Worker(url);
  return {
    post: (m, t) => w.postMessage(m, t ?? []),
    onMessage: (fn) => (w.onmessage = (ev) => fn(ev.data)),
    ref: () => {},
    unref: () => {},
    terminate: () => {
      w.terminate();
      URL.revokeObjectURL(url);
    },
  };
}

interface Job {
  epoch: number;
  batch: number;
  indices: Int32Array;
  params: Int32Array;
  result?: Promise<{ x: Float32Array; y: Int32Array }>;
}

export class DataLoader implements AsyncIterable<Batch> {
  readonly batchSize: number;
  readonly cfg: BatchConfig;
  private readonly shuffle: boolean;
  private readonly dropLast: boolean;
  private readonly epochs: number;
  private readonly nWorkers: number;
  private readonly prefetch: number;
  private readonly flip: boolean;
  private st: LoaderState;
  private perm: Int32Array | null = null;
  private permEpoch = -1;
  private queue: Job[] = [];
  private workers: WorkerLike[] = [];
  private starting: Promise<void> | null = null;
  private pending = new Map<number, { resolve: (v: { x: Float32Array; y: Int32Array }) => void; reject: (e: Error) => void; w: number }>();
  private inFlight: number[] = [];
  private nextId = 1;
  private rr = 0;
  private closed = false;

  constructor(readonly dataset: ImageDataset, opts: LoaderOptions) {
    const B = opts.batchSize;
    if (!Number.isInteger(B) || B < 1) throw new Error(`DataLoader: batchSize must be a positive integer, got ${B}`);
    if (dataset.length === 0) throw new Error(`DataLoader: dataset ${dataset.name} is empty`);
    this.batchSize = B;
    this.shuffle = opts.shuffle ?? true;
    this.dropLast = opts.dropLast ?? false;
    this.epochs = opts.epochs ?? 1;
    this.nWorkers = opts.workers ?? 2;
    this.prefetch = Math.max(1, opts.prefetch ?? Math.max(2, 2 * this.nWorkers));
    const seed = (opts.seed ?? 0) >>> 0;
    this.st = { seed, epoch: 0, batch: 0 };
    if (this.batchesPerEpoch() === 0) throw new Error(`DataLoader: ${dataset.length} samples make no full batch of ${B} (dropLast)`);
    // Output geometry: given, or the dataset's (first sample's) size and channels.
    const s = dataset.store;
    let h = s.height;
    let w = s.width;
    let c = s.channels;
    if (s.kind === 'encoded' && !(opts.size && opts.channels)) {
      const first = dataset.image(0);
      h = first.height;
      w = first.width;
      c = first.channels;
    }
    const channels = opts.channels ?? (c >= 3 ? 3 : 1);
    if (channels !== 1 && channels !== 3) throw new Error(`DataLoader: channels must be 1 or 3, got ${channels}`);
    const [H, W] = opts.size ?? [h, w];
    if (![H, W].every((d) => Number.isInteger(d) && d >= 1 && d <= 16384)) throw new Error(`DataLoader: size must be two integers in [1, 16384], got [${opts.size}]`);
    const a = opts.augment ?? {};
    const padding = a.padding ?? 0;
    if (!Number.isInteger(padding) || padding < 0 || padding > 1024) throw new Error(`DataLoader: augment.padding must be an integer in [0, 1024], got ${padding}`);
    this.flip = !!a.flip;
    this.cfg = { channels, height: H, width: W, padding, norm: normParams(channels, a.mean, a.std) };
  }

  /** Batches in one epoch. */
  batchesPerEpoch(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Where the next batch comes from; save it with a checkpoint. */
  state(): LoaderState {
    return { ...this.st };
  }

  /** Continues exactly where `state()` was taken (drops batches already prefetched). */
  setState(s: LoaderState): void {
    if (!s || !Number.isInteger(s.epoch) || !Number.isInteger(s.batch) || s.epoch < 0 || s.batch < 0 || s.batch > this.batchesPerEpoch()) {
      throw new Error(`DataLoader.setState: invalid state ${JSON.stringify(s)}`);
    }
    this.st = { seed: s.seed >>> 0, epoch: s.epoch, batch: s.batch };
    this.queue = [];
  }

  private permutation(epoch: number): Int32Array {
    if (this.permEpoch !== epoch || !this.perm) {
      const n = this.dataset.length;
      const p = new Int32Array(n);
      for (let i = 0; i < n; i++) p[i] = i;
      if (this.shuffle) new Generator(mixSeed(this.st.seed, epoch, 0)).shuffle(p);
      this.perm = p;
      this.permEpoch = epoch;
    }
    return this.perm;
  }

  /** The indices and random parameters of batch b of epoch e. */
  private plan(epoch: number, b: number): Job {
    const perm = this.permutation(epoch);
    const start = b * this.batchSize;
    const indices = perm.slice(start, Math.min(perm.length, start + this.batchSize));
    const g = new Generator(mixSeed(this.st.seed, epoch, b + 1));
    const params = new Int32Array(indices.length * 3);
    const pad = this.cfg.padding;
    for (let k = 0; k < indices.length; k++) {
      params[3 * k] = pad > 0 ? g.int(2 * pad + 1) : 0;
      params[3 * k + 1] = pad > 0 ? g.int(2 * pad + 1) : 0;
      params[3 * k + 2] = this.flip ? (g.uniform() < 0.5 ? 1 : 0) : 0;
    }
    return { epoch, batch: b, indices, params };
  }

  private async startWorkers(): Promise<void> {
    const module = dataModule();
    for (let i = 0; i < this.nWorkers; i++) {
      const w = await spawnWorker();
      const wi = i;
      w.onMessage((m) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (--this.inFlight[wi] === 0) w.unref();
        if (m.type === 'batch') p.resolve({ x: m.x!, y: m.y! });
        else p.reject(new Error(m.message));
      });
      w.post({ type: 'init', module, store: this.dataset.store, config: this.cfg });
      this.workers.push(w);
      this.inFlight.push(0);
    }
  }

  private submit(job: Job): void {
    if (this.nWorkers === 0) return;
    const wi = this.rr++ % this.workers.length;
    const w = this.workers[wi];
    const id = this.nextId++;
    job.result = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, w: wi }));
    // A prefetched batch dropped by setState/close must not surface as an unhandled rejection.
    job.result.catch(() => {});
    // A worker is referenced only while it owes a batch, so an idle loader never keeps Node alive.
    if (this.inFlight[wi]++ === 0) w.ref();
    w.post({ type: 'batch', id, indices: job.indices, params: job.params });
  }

  /** Fills the prefetch queue from the current position. */
  private topUp(): void {
    let e = this.st.epoch;
    let b = this.st.batch;
    const last = this.queue[this.queue.length - 1];
    if (last) {
      e = last.epoch;
      b = last.batch + 1;
    }
    while (this.queue.length < (this.nWorkers === 0 ? 1 : this.prefetch)) {
      if (b >= this.batchesPerEpoch()) {
        e++;
        b = 0;
      }
      if (e >= this.epochs) break;
      const job = this.plan(e, b);
      this.submit(job);
      this.queue.push(job);
      b++;
    }
  }

  /** The next batch, or null after the last epoch. */
  async next(): Promise<Batch | null> {
    if (this.closed) throw new Error('DataLoader: closed');
    if (this.st.batch >= this.batchesPerEpoch()) this.st = { ...this.st, epoch: this.st.epoch + 1, batch: 0 };
    if (this.st.epoch >= this.epochs) return null;
    if (this.nWorkers > 0 && this.workers.length === 0) {
      this.starting ??= this.startWorkers();
      await this.starting;
    }
    this.topUp();
    const job = this.queue.shift()!;
    const { x, y } = job.result ? await job.result : assembleBatch(data(), this.dataset.store, this.cfg, job.indices, job.params);
    this.st = { ...this.st, epoch: job.epoch, batch: job.batch + 1 };
    this.topUp();
    const n = y.length;
    const { channels: C, height: H, width: W } = this.cfg;
    return { x: tensor(x, [n, C, H, W]), y: tensor(y, [n], { dtype: 'i32' }), epoch: job.epoch, batch: job.batch };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    while (true) {
      const b = await this.next();
      if (!b) return;
      yield b;
    }
  }

  /** Stops the workers. The loader cannot be used afterwards. */
  close(): void {
    this.closed = true;
    for (const w of this.workers) w.terminate();
    this.workers = [];
    for (const p of this.pending.values()) p.reject(new Error('DataLoader: closed'));
    this.pending.clear();
  }
}
