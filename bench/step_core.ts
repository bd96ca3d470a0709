// The ResNet-20 training step that bench/browser_step.bench.ts times in Node and in Chromium: the same
// source runs on both sides (Node imports it with the engine from source; the browser gets it bundled
// against the served dist/pugd.browser.js). One step = forward, backward, the optimizer update, reading
// the loss — as bench/resnet20_step.bench.ts times it. Optimizers: 'sgd' (plain SGD written with tensor
// ops, as resnet20_step) or 'pugd' (optim.PUGD: two forward/backward passes per step).
//
// Shapes: x [B, 3, 32, 32] from a seeded generator, labels [B]. Not handled: data loading (timed
// apart in bench/datasets.bench.mjs).

import type * as Pugd from '../browser.js';

export interface StepSetup {
  backend: 'webgpu' | 'wasm';
  batch: number;
  optimizer: 'sgd' | 'pugd';
  seed?: number;
}

export interface StepInfo {
  backend: string;
  description: string;
  adapter: string;
  threads: number;
  crossOriginIsolated: boolean;
}

export interface StepHandle {
  info: StepInfo;
  /** Runs one step; resolves to [milliseconds, loss]. */
  step(): Promise<[number, number]>;
  dispose(): void;
}

/**
 * Builds ResNet-20, a fixed batch and the optimizer on `s.backend`.
 *
 * @example
 *   const h = await setupSteps(pugd, { backend: 'wasm', batch: 8, optimizer: 'sgd' });
 *   const [ms, loss] = await h.step();
 */
export async function setupSteps(p: typeof Pugd, s: StepSetup): Promise<StepHandle> {
  p.setBackendLogger(null);
  await p.setBackend(s.backend);
  const g = new p.Generator(s.seed ?? 1);
  const model = p.models.resnet20({ generator: g });
  const x = p.randn([s.batch, 3, 32, 32], { generator: g });
  const labels = p.tensor(Array.from({ length: s.batch }, () => g.int(10)), [s.batch], { dtype: 'i32' });
  const params = model.parameters();
  const F = p.nn.functional;
  const opt = s.optimizer === 'pugd' ? new p.optim.PUGD(params, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }) : null;
  const lr = 0.05;
  const sgdStep = async (): Promise<number> => {
    const loss = p.tidy(() => F.crossEntropy(model.forward(x), labels));
    loss.backward();
    p.noGrad(() => {
      for (const w of params) {
        const upd = p.tidy(() => w.sub(w.grad!.mul(lr)));
        w.assign(upd);
        upd.dispose();
        w.grad = null;
      }
    });
    const v = await loss.item();
    loss.dispose();
    return v;
  };
  const pugdStep = async (): Promise<number> => {
    const loss = await opt!.step(() => {
      opt!.zeroGrad();
      const l = F.crossEntropy(model.forward(x), labels);
      l.backward();
      return l;
    });
    return loss.item();
  };
  const info = p.getBackend().info;
  const a = info.adapter;
  return {
    info: {
      backend: info.name,
      description: info.description,
      adapter: a ? `${a.vendor}/${a.architecture}${a.isFallbackAdapter ? ' (fallback)' : ''}` : info.description,
      threads: info.threads ?? 1,
      crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    },
    async step() {
      const t0 = performance.now();
      const v = await (opt ? pugdStep() : sgdStep());
      const ms = performance.now() - t0;
      if (!Number.isFinite(v)) throw new Error(`bench step: loss is ${v} on ${info.description}`);
      return [ms, v];
    },
    dispose() {
      opt?.dispose();
      x.dispose();
      labels.dispose();
      model.dispose();
    },
  };
}
