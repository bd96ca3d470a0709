// Test-only fixtures that drive the training loop before/without the real optimizers and data
// loaders: a seeded synthetic loader (two separable blob classes) with a saveable position, and a
// plain momentum-free SGD with an optional second pass (to exercise two-pass optimizers). Never
// shipped: the CLI uses the real optim/ and datasets/ modules.
import { Generator, noGrad, tensor, tidy, type Tensor } from '../../engine/index.js';
import type { Batch, Loader, StepOptimizer, LrSchedule } from '../../cli/trainer.js';

export class BlobLoader implements Loader {
  readonly imageShape: [number, number, number];
  private epoch = 0;
  private batch = 0;
  private readonly x: Float32Array;
  private readonly y: Int32Array;
  constructor(readonly numExamples: number, readonly batchSize: number, readonly seed = 1, opts: { C?: number; S?: number; shuffle?: boolean; poison?: number } = {}) {
    const C = opts.C ?? 1;
    const S = opts.S ?? 6;
    this.imageShape = [C, S, S];
    const g = new Generator(seed);
    const d = C * S * S;
    this.x = new Float32Array(numExamples * d);
    this.y = new Int32Array(numExamples);
    for (let i = 0; i < numExamples; i++) {
      const label = i % 2;
      this.y[i] = label;
      for (let j = 0; j < d; j++) this.x[i * d + j] = 0.8 * g.normal() + (label ? 0.6 : -0.6) * (j % 3 === 0 ? 1 : 0);
    }
    if (opts.poison !== undefined) this.x[opts.poison * d] = NaN;
    this.shuffle = opts.shuffle ?? true;
  }
  private readonly shuffle: boolean;
  get batchesPerEpoch(): number {
    return Math.ceil(this.numExamples / this.batchSize);
  }
  private order(epoch: number): Int32Array {
    const o = Int32Array.from({ length: this.numExamples }, (_, i) => i);
    if (this.shuffle) new Generator(this.seed * 1000 + epoch).shuffle(o);
    return o;
  }
  async *epochBatches(): AsyncIterable<Batch> {
    const order = this.order(this.epoch);
    const d = this.imageShape[0] * this.imageShape[1] * this.imageShape[2];
    while (this.batch < this.batchesPerEpoch) {
      const idx = order.subarray(this.batch * this.batchSize, Math.min(this.numExamples, (this.batch + 1) * this.batchSize));
      const x = new Float32Array(idx.length * d);
      const labels = new Int32Array(idx.length);
      idx.forEach((k, i) => {
        x.set(this.x.subarray(k * d, (k + 1) * d), i * d);
        labels[i] = this.y[k];
      });
      this.batch++;
      yield { x: tensor(x, [idx.length, ...this.imageShape]), y: tensor(labels, [idx.length], { dtype: 'i32' }) };
    }
    this.epoch++;
    this.batch = 0;
  }
  state(): unknown {
    return { epoch: this.epoch, batch: this.batch };
  }
  loadState(s: unknown): void {
    const st = s as { epoch: number; batch: number };
    this.epoch = st.epoch;
    this.batch = st.batch;
  }
}

/** w ← w − lr·g, with an optional second pass at w − 0.01·g whose gradient is added (SAM-like). */
export class PlainSgd implements StepOptimizer {
  lr = 0.1;
  steps = 0;
  constructor(private readonly params: Tensor[], private readonly twoPass = false) {}
  async step(closure: () => Tensor): Promise<void> {
    this.zeroGrad();
    closure();
    if (this.twoPass) {
      const saved = noGrad(() => this.params.map((p) => p.clone()));
      noGrad(() => {
        for (const p of this.params) if (p.grad) { const u = tidy(() => p.sub(p.grad!.mul(0.01))); p.assign(u); u.dispose(); }
      });
      closure();
      noGrad(() => this.params.forEach((p, i) => { p.assign(saved[i]); saved[i].dispose(); }));
    }
    noGrad(() => {
      for (const p of this.params) {
        if (!p.grad) continue;
        const u = tidy(() => p.sub(p.grad!.mul(this.lr)));
        p.assign(u);
        u.dispose();
      }
    });
    this.zeroGrad();
    this.steps++;
  }
  setLr(lr: number): void {
    this.lr = lr;
  }
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
  stateDict(): unknown {
    return { steps: this.steps };
  }
  loadStateDict(s: unknown): void {
    this.steps = (s as { steps: number }).steps;
  }
}

export const constantLr = (lr: number): LrSchedule => ({ lrAt: () => lr, describe: () => ({ kind: 'constant', lr }) });
