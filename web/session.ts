// A training session as the page runs it, without any messaging: data (the built-in sample or the
// user's files), a model by name, an optimizer (PUGD by default), the training loop with pause/resume
// and stop, evaluation, and checkpoints in the CLI's safetensors format. web/worker.ts drives one from
// messages; the Node side of tests and benches drives the very same class, so "trained in Node,
// evaluated in the browser" compares one code path on two platforms.
//
// Only the public API is used (imported from the root browser.ts, which the page gets as
// dist/pugd.browser.js). Shapes: batches x [N, C, H, W] f32, y [N] i32; logits [N, K].
//
// Not handled: resuming the optimizer state from a checkpoint (the page saves and loads weights, as the
// CLI's model file holds them; the CLI's manifest and optimizer files are for `pugd train --resume`),
// learning-rate schedules, several runs at once.

import * as pugd from '../browser.js';
import { makeSample, SAMPLE_CLASSES } from './sample.js';
import type { BackendChoice, BackendReport, DataChoice, DataFormat, DataReport, EvalReport, ProgressEvent, TrainConfig } from './protocol.js';

const { datasets, models, nn, optim, io } = pugd;
type Module = InstanceType<typeof nn.Module>;
type ImageDataset = InstanceType<typeof datasets.ImageDataset>;
/** What the loop needs of an optimizer (every class of `optim` has it). */
interface Optimizer {
  step(closure: () => Tensor): Promise<Tensor | null>;
  zeroGrad(): void;
  dispose?(): void;
}
type Tensor = pugd.Tensor;

/** Normalisation per channel count: CIFAR's statistics for colour images, MNIST's for gray ones. */
const NORM: Record<number, { mean: number[]; std: number[] }> = {
  3: { mean: datasets.cifarTest.mean!, std: datasets.cifarTest.std! },
  1: { mean: [0.1307], std: [0.3081] },
};

/**
 * Resolves from a new task of the event loop (not a microtask), so messages queued meanwhile (the
 * page's pause and stop) are handled first. MessageChannel, as setTimeout(0) is clamped to 4 ms.
 */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof MessageChannel !== 'function') {
      setTimeout(resolve, 0);
      return;
    }
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

/** Metadata keys the page writes into a checkpoint, beside the CLI's own (`format`, `epoch`, `step`). */
export const META = { model: 'pugd.model', width: 'pugd.width', classes: 'pugd.classes', dataset: 'pugd.dataset', shape: 'pugd.shape' } as const;

/** Builds a model by name: CIFAR ResNets of any depth 6n + 2 (resnet8, resnet20, …), else the CLI's registry. */
export function createModel(name: string, o: { numClasses: number; inChannels: number; imageSize: number; width?: number; seed: number }): Module {
  const generator = new pugd.Generator(o.seed);
  const m = /^resnet(\d+)$/.exec(name);
  if (m && (Number(m[1]) - 2) % 6 === 0) {
    return new models.ResNetCifar(Number(m[1]), { numClasses: o.numClasses, inChannels: o.inChannels, width: o.width, generator });
  }
  return models.createModel(name, { numClasses: o.numClasses, inChannels: o.inChannels, imageSize: o.imageSize, width: o.width, generator });
}

export function createOptimizer(params: Tensor[], c: TrainConfig): Optimizer {
  const sgd = { lr: c.lr, momentum: c.momentum ?? 0.9, weightDecay: c.weightDecay ?? 5e-4 };
  switch (c.optimizer) {
    case 'pugd': return new optim.PUGD(params, sgd);
    case 'sgd': return new optim.SGD(params, sgd);
    case 'sam': return new optim.SAM(params, { ...sgd });
    case 'ugd': return new optim.UGD(params, { lr: c.lr });
    case 'adam': return new optim.Adam(params, { lr: c.lr, weightDecay: c.weightDecay ?? 0 });
    case 'adamw': return new optim.AdamW(params, { lr: c.lr, weightDecay: c.weightDecay ?? 5e-4 });
    default: throw new Error(`optimizer: unknown '${String(c.optimizer)}' (expected pugd, sgd, sam, ugd, adam or adamw)`);
  }
}

/** Refuses settings that would train nothing (0 epochs) or NaN, naming the field as the page labels it. */
export function checkConfig(c: TrainConfig): void {
  const whole = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;
  const bad = (field: string, rule: string, v: unknown) => new Error(`train: ${field} must be ${rule}, got ${String(v)}`);
  if (!whole(c.epochs, 1)) throw bad('epochs', 'a whole number ≥ 1', c.epochs);
  if (!whole(c.batchSize, 1)) throw bad('batch size', 'a whole number ≥ 1', c.batchSize);
  if (!(typeof c.lr === 'number' && Number.isFinite(c.lr) && c.lr > 0)) throw bad('learning rate', 'a number > 0', c.lr);
  if (c.width !== undefined && !whole(c.width, 1)) throw bad('width', "a whole number ≥ 1 (or left empty for the model's own)", c.width);
  if (!whole(c.seed, 0)) throw bad('seed', 'a whole number ≥ 0', c.seed);
  if (c.maxSteps !== undefined && !whole(c.maxSteps, 1)) throw bad('maxSteps', 'a whole number ≥ 1', c.maxSteps);
}

/** Guesses the format of picked files from their names. */
export function guessFormat(files: readonly { name: string }[]): Exclude<DataFormat, 'auto'> {
  const names = files.map((f) => f.name.toLowerCase()).join(' ');
  if (/cifar-?100/.test(names)) return 'cifar100';
  if (/cifar/.test(names) || /data_batch|test_batch/.test(names)) return 'cifar10';
  if (/idx[13]-ubyte/.test(names)) return /fashion/.test(names) ? 'fashion-mnist' : 'mnist';
  return 'imagefolder';
}

export class TrainingSession {
  backend: BackendReport | null = null;
  data: { train: ImageDataset; test: ImageDataset | null; report: DataReport } | null = null;
  model: Module | null = null;
  modelName = '';
  width = 0;
  step = 0;
  epoch = 0;
  /** Set by `pause()`; the loop waits between steps. */
  private paused: { promise: Promise<void>; resume: () => void } | null = null;
  private stopRequested = false;
  private running = false;

  constructor(private readonly log: (line: string) => void = () => {}) {}

  /** Chooses the backend; with 'webgpu' unavailable, falls back to WASM and says why. */
  async init(choice: BackendChoice, threads?: number): Promise<BackendReport> {
    if (this.running) throw new Error('backend: stop training before switching the backend');
    // A model on the old backend moves to the new one through host memory (tensors belong to one backend).
    const moving = this.model ? await hostState(this.model) : null;
    let fallbackReason: string | undefined;
    pugd.setBackendLogger((l) => this.log(l));
    const opts = threads ? { threads } : {};
    if (choice === 'webgpu') {
      try {
        await pugd.setBackend('webgpu', opts);
      } catch (e) {
        fallbackReason = (e as Error).message;
        await pugd.setBackend('wasm', opts);
        this.log(`WebGPU not available (${fallbackReason}); training on WASM`);
      }
    } else if (choice === 'auto') {
      // As the CLI's --backend auto: WebGPU on a hardware adapter; a software (fallback) adapter such
      // as SwiftShader trains far slower than WASM (issue 16 saw 2.5 against 70–123 images/s on the 2-core machine).
      try {
        await pugd.setBackend('webgpu', opts);
        const a = pugd.getBackend().info.adapter;
        if (a?.isFallbackAdapter) {
          const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') || 'unnamed';
          fallbackReason = `the adapter (${name}) is a software (fallback) adapter, which trains slower than WASM; choose WebGPU to use it anyway`;
        }
      } catch (e) {
        fallbackReason = (e as Error).message;
      }
      if (fallbackReason) await pugd.setBackend('wasm', opts);
    } else {
      await pugd.setBackend(choice, opts);
    }
    const info = pugd.getBackend().info;
    this.backend = {
      name: info.name,
      description: info.description,
      adapter: info.adapter,
      threads: info.threads ?? 1,
      crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
      fallbackReason,
    };
    if (moving && this.model) {
      const old = this.model;
      this.model = null;
      const m = this.buildModel(this.modelName, this.width || undefined, 0, { keepCounters: true });
      m.loadStateDict(moving);
      old.dispose(); // the old backend still exists (setBackend keeps instances), so this frees its memory
    }
    return this.backend;
  }

  /** Loads the data: train and test splits, classes, batch shape. */
  async loadData(choice: DataChoice): Promise<DataReport> {
    let train: ImageDataset;
    let test: ImageDataset | null = null;
    let name: string;
    if (choice.kind === 'sample') {
      const size = 32;
      const tr = makeSample(choice.train ?? 512, choice.seed ?? 1, size);
      const te = makeSample(choice.test ?? 200, (choice.seed ?? 1) + 1000, size);
      const store = (s: typeof tr) => ({ kind: 'raw' as const, bytes: s.pixels, offsets: new Float64Array(0), labels: s.labels, height: size, width: size, channels: 3, planar: true, names: [] });
      name = 'built-in sample (synthetic shapes)';
      train = new datasets.ImageDataset(store(tr), SAMPLE_CLASSES, name);
      test = new datasets.ImageDataset(store(te), SAMPLE_CLASSES, `${name}, test`);
    } else {
      const files = choice.files;
      if (!files.length) throw new Error('data: no file chosen');
      const format = choice.format === 'auto' ? guessFormat(files) : choice.format;
      const src = files.length === 1 ? files[0] : files;
      name = files.length === 1 ? files[0].name : `${files.length} files`;
      switch (format) {
        case 'cifar10':
        case 'cifar100': {
          const read = format === 'cifar10' ? datasets.cifar10 : datasets.cifar100;
          train = await read(src);
          // One batch file (not the archive) is the whole data set: it would also come back as the
          // test split, and evaluating on training images must not be called a test.
          if (files.length === 1 && !/\.(tar|tgz|tar\.gz)$/i.test(files[0].name)) this.log(`${files[0].name}: a single batch file, so there is no test split (evaluation uses these images)`);
          else test = await optional(() => read(src, { train: false }), this.log, 'test split');
          break;
        }
        case 'mnist': train = await datasets.mnist(src); test = await optional(() => datasets.mnist(src, { train: false }), this.log, 'test split'); break;
        case 'fashion-mnist': train = await datasets.fashionMnist(src); test = await optional(() => datasets.fashionMnist(src, { train: false }), this.log, 'test split'); break;
        default: {
          // An archive with train/ and test/ folders (as the CIFAR-10 JPEG one), else one set of classes.
          const tr = await optional(() => datasets.imageFolder(src, { root: 'train' }), this.log, 'train/ folder');
          if (tr) {
            train = tr;
            test = await optional(() => datasets.imageFolder(src, { root: 'test' }), this.log, 'test/ folder');
          } else {
            train = await datasets.imageFolder(src);
          }
        }
      }
      this.log(`data: ${name} read as ${format}`);
    }
    const first = train.image(0);
    const channels = first.channels >= 3 ? 3 : 1;
    const report: DataReport = { name, classes: train.classes, train: train.length, test: test?.length ?? 0, shape: [channels, first.height, first.width] };
    this.data = { train, test, report };
    return report;
  }

  /** Creates the model (fresh weights from `seed`). */
  buildModel(name: string, width: number | undefined, seed: number, opts: { keepCounters?: boolean } = {}): Module {
    const d = this.requireData();
    this.model?.dispose();
    this.model = null;
    const [c, h] = d.report.shape;
    this.model = createModel(name, { numClasses: d.report.classes.length, inChannels: c, imageSize: h, width, seed });
    this.modelName = name;
    this.width = width ?? 0;
    if (!opts.keepCounters) {
      this.step = 0;
      this.epoch = 0;
    }
    return this.model;
  }

  /**
   * Trains `config.epochs` epochs (or `maxSteps` steps), calling `onProgress` after every step and
   * `onEpoch` after each epoch's evaluation. Resolves when done or stopped.
   */
  async train(config: TrainConfig, onProgress: (e: ProgressEvent) => void, onEpoch: (epoch: number, r: EvalReport) => void): Promise<{ steps: number; stopped: boolean; lastLoss: number }> {
    if (this.running) throw new Error('train: a training run is already going on (stop it first)');
    checkConfig(config);
    const d = this.requireData();
    if (!this.model || this.modelName !== config.model || (config.width ?? 0) !== this.width) this.buildModel(config.model, config.width, config.seed);
    const model = this.model!;
    const [c, h, w] = d.report.shape;
    const opt = createOptimizer(model.parameters(), config);
    const loader = new datasets.DataLoader(d.train, {
      batchSize: config.batchSize,
      seed: config.seed,
      epochs: config.epochs,
      dropLast: d.train.length >= config.batchSize,
      size: [h, w],
      channels: c,
      workers: 0,
      augment: c === 3 && config.augment !== false ? { ...NORM[3], padding: Math.max(1, Math.round(h / 8)), flip: true } : NORM[c],
    });
    this.running = true;
    this.stopRequested = false;
    let steps = 0;
    let lastLoss = NaN;
    let epochSeen = -1;
    try {
      model.train();
      for (;;) {
        // On WASM every await of a step resolves at once (reads are synchronous), so without this the
        // loop never returns to the event loop and pause/stop messages wait for the end of the run.
        await nextTask();
        await this.paused?.promise;
        if (this.stopRequested) break;
        if (config.maxSteps !== undefined && steps >= config.maxSteps) break;
        const t0 = performance.now();
        const batch = await loader.next();
        if (!batch) break;
        if (epochSeen >= 0 && batch.epoch !== epochSeen) await this.endEpoch(epochSeen, config, onEpoch);
        epochSeen = batch.epoch;
        const { x, y } = batch;
        let logits: Tensor | null = null;
        try {
          const loss = await opt.step(() => {
            opt.zeroGrad();
            const out = model.forward(x);
            // The first pass's logits (at w, before the update) give the batch accuracy.
            if (!logits) logits = pugd.keep(out.detach());
            const l = nn.functional.crossEntropy(out, y);
            l.backward();
            return l;
          });
          lastLoss = await loss!.item();
          const acc = logits ? accuracy(await (logits as Tensor).toArray(), await y.data(), d.report.classes.length) : NaN;
          const dt = (performance.now() - t0) / 1000;
          steps++;
          this.step++;
          onProgress({ type: 'progress', step: this.step, epoch: batch.epoch, loss: lastLoss, acc, imagesPerSecond: x.shape[0] / dt, stepSeconds: dt });
        } finally {
          (logits as Tensor | null)?.dispose();
          x.dispose();
          y.dispose();
        }
      }
      if (epochSeen >= 0 && !this.stopRequested && (config.maxSteps === undefined || steps < config.maxSteps)) await this.endEpoch(epochSeen, config, onEpoch);
      return { steps, stopped: this.stopRequested, lastLoss };
    } finally {
      loader.close();
      opt.dispose?.();
      model.train();
      this.running = false;
      this.paused?.resume();
      this.paused = null;
    }
  }

  private async endEpoch(epoch: number, config: TrainConfig, onEpoch: (epoch: number, r: EvalReport) => void): Promise<void> {
    this.epoch = epoch + 1;
    if (this.data?.test) onEpoch(epoch, await this.evaluate(config.evalLimit));
  }

  pause(): void {
    if (!this.running || this.paused) return;
    let resume!: () => void;
    const promise = new Promise<void>((r) => (resume = r));
    this.paused = { promise, resume };
  }

  resume(): void {
    const p = this.paused;
    this.paused = null;
    p?.resume();
  }

  stop(): void {
    this.stopRequested = true;
    this.resume();
  }

  get isPaused(): boolean {
    return this.paused !== null;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Loss and accuracy on the test split (the first `limit` images), in eval mode, in batches of 100. */
  async evaluate(limit?: number): Promise<EvalReport> {
    const d = this.requireData();
    const model = this.requireModel();
    const set = d.test ?? d.train;
    const [c, h, w] = d.report.shape;
    const n = Math.min(limit ?? set.length, set.length);
    const t0 = performance.now();
    const loader = new datasets.DataLoader(set, { batchSize: 100, shuffle: false, size: [h, w], channels: c, workers: 0, augment: NORM[c] });
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    model.eval();
    try {
      while (seen < n) {
        const b = await loader.next();
        if (!b) break;
        const take = Math.min(b.x.shape[0], n - seen);
        const { x, y } = b;
        try {
          const logits = pugd.noGrad(() => model.forward(x));
          const z = await logits.toArray();
          logits.dispose();
          const labels = await y.data();
          const k = d.report.classes.length;
          // Loss and hits on the host in float64: the same arithmetic on every backend and platform.
          for (let i = 0; i < take; i++) {
            let max = -Infinity;
            let arg = 0;
            for (let j = 0; j < k; j++) if (z[i * k + j] > max) { max = z[i * k + j]; arg = j; }
            let s = 0;
            for (let j = 0; j < k; j++) s += Math.exp(z[i * k + j] - max);
            lossSum += Math.log(s) + max - z[i * k + labels[i]];
            if (arg === labels[i]) correct++;
          }
          seen += take;
        } finally {
          x.dispose();
          y.dispose();
        }
      }
    } finally {
      loader.close();
      model.train();
    }
    return { loss: lossSum / Math.max(seen, 1), acc: correct / Math.max(seen, 1), images: seen, seconds: (performance.now() - t0) / 1000 };
  }

  /** The model's weights as a safetensors file, in the format the CLI writes (PyTorch names). */
  async save(): Promise<{ bytes: Uint8Array; name: string }> {
    const model = this.requireModel();
    const d = this.requireData();
    const bytes = await io.saveSafetensors(model, {
      epoch: String(this.epoch),
      step: String(this.step),
      [META.model]: this.modelName,
      [META.width]: String(this.width),
      [META.classes]: JSON.stringify(d.report.classes),
      [META.dataset]: d.report.name,
      [META.shape]: JSON.stringify(d.report.shape),
    }, { requireFinite: true });
    return { bytes, name: `${this.modelName}-step${String(this.step).padStart(6, '0')}.safetensors` };
  }

  /**
   * Loads weights from safetensors bytes (the page's download, or the CLI's `step-*.safetensors` /
   * `model.safetensors`). The model comes from the file's metadata when the page wrote it, else from
   * `model`/`width` (the page's choice); the data must be loaded first (classes and image shape).
   */
  async load(bytes: Uint8Array, source: string, model?: string, width?: number): Promise<{ model: string; width: number; metadata: Record<string, string> }> {
    const meta = io.decodeSafetensors(bytes, source).metadata;
    const name = meta[META.model] ?? model;
    if (!name) throw new Error(`${source}: the file does not say which model it holds; choose the model on the page first`);
    const wd = meta[META.width] !== undefined ? Number(meta[META.width]) || undefined : width;
    const m = this.buildModel(name, wd, 0);
    io.loadSafetensors(m, bytes, { source });
    this.step = Number(meta.step ?? 0) || 0;
    this.epoch = Number(meta.epoch ?? 0) || 0;
    return { model: name, width: wd ?? 0, metadata: meta };
  }

  private requireData() {
    if (!this.data) throw new Error('no data loaded: choose a dataset (or the built-in sample) first');
    return this.data;
  }

  private requireModel(): Module {
    if (!this.model) throw new Error('no model: train one or load a checkpoint first');
    return this.model;
  }
}

/** Parameters and buffers copied to host memory, by their state-dict names. */
async function hostState(m: Module): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(m.stateDict())) out[k] = (await t.toArray()) as Float32Array;
  return out;
}

/** A split that may be absent (an archive without test files): null, with the reason logged. */
async function optional<T>(f: () => Promise<T>, log: (line: string) => void, what: string): Promise<T | null> {
  try {
    return await f();
  } catch (e) {
    log(`${what} not used: ${(e as Error).message}`);
    return null;
  }
}

/** Fraction of rows of `z` ([N, K]) whose largest logit is the label's. */
function accuracy(z: Float32Array | Int32Array, labels: Float32Array | Int32Array, k: number): number {
  let hit = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    let arg = 0;
    for (let j = 1; j < k; j++) if (z[i * k + j] > z[i * k + arg]) arg = j;
    if (arg === labels[i]) hit++;
  }
  return hit / n;
}
