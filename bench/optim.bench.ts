// Optimizer benchmarks, one JSON line per measurement (the targets are reported here, never asserted
// in tests):
//   1. optimizer-only: the time of the optimizer's own work per step on ResNet-20's parameter set
//      (0.27 M, from models.resnet20) and on a parameter list with ResNet-18's shapes (11.17 M, CIFAR
//      variant). The closure only re-attaches precomputed gradients (a handle, no copy), so what is
//      timed is the optimizer: its kernels and its host bookkeeping.
//   2. training step: a PUGD step vs an SGD step on ResNet-20 (forward + backward + update, same
//      batch), their ratio (target ≤ 2.1: the two passes are inherent) and the optimizer's share of a
//      PUGD step (target ≤ 5%).
// Every timing ends with a device sync, so on queued backends it is work done, not work queued.
//
// Env: BENCH_BACKEND=wasm|webgpu (default wasm), BENCH_BATCH=16, BENCH_REPS (10 on wasm, 3 on
// webgpu, whose steps take seconds on a software adapter; 3 medians of a 100 ms step moved the ratio by ±0.1),
// BENCH_ONLY=optim|train.
// Run: node bench/run.mjs optim (after npm run build; the runner bundles it and sets up the WebGPU
// adapter, SwiftShader where there is no GPU).
import { performance } from 'node:perf_hooks';
import { Generator, getBackend, manualSeed, memory, models, nn, optim, randn, setBackend, setBackendLogger, tensor, type BackendName, type Tensor } from '../index.js';
import { resnet18Shapes, resnet20Shapes } from './optim_shapes.js';
import { backendDesc, emit as emitLine, median } from './common.js';

const backendName = (process.env.BENCH_BACKEND ?? 'wasm') as BackendName;
const batch = Number(process.env.BENCH_BATCH ?? 16);
const reps = Number(process.env.BENCH_REPS ?? (backendName === 'wasm' ? 10 : 3));
const only = process.env.BENCH_ONLY ?? '';

setBackendLogger(null);
await setBackend(backendName);
const backend = getBackend();
const emit = (o: Record<string, unknown>) => emitLine({ ...backendDesc(), ...o });

type Opt = { step(c: optim.Closure): Promise<Tensor | null>; zeroGrad(): void; dispose(): void };
const makers: Record<string, (ps: Tensor[]) => Opt> = {
  PUGD: (ps) => new optim.PUGD(ps),
  SGD: (ps) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }),
  SAM: (ps) => new optim.SAM(ps, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }),
  UGD: (ps) => new optim.UGD(ps),
  AdamW: (ps) => new optim.AdamW(ps),
};

/** Median time of `opt.step` with a closure that costs nothing on the device. */
async function optimizerMs(opt: Opt, params: Tensor[], grads: Tensor[], steps: number): Promise<{ ms: number; dispatches: number }> {
  const loss = tensor([1], [1]);
  const closure = () => {
    params.forEach((p, i) => (p.grad = grads[i].detach()));
    return loss.detach();
  };
  for (let i = 0; i < 2; i++) await opt.step(closure);
  await backend.sync();
  const times: number[] = [];
  const d0 = memory().dispatches;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await opt.step(closure);
    await backend.sync();
    times.push(performance.now() - t0);
  }
  const dispatches = (memory().dispatches - d0) / steps;
  loss.dispose();
  return { ms: median(times), dispatches };
}

async function optimizerOnly(label: string, shapes: number[][], steps: number): Promise<void> {
  const g = new Generator(1);
  const params = shapes.map((s) => randn(s, { std: 0.1, generator: g, requiresGrad: true }));
  const grads = shapes.map((s) => randn(s, { std: 0.01, generator: g }));
  const n = params.reduce((t, p) => t + p.size, 0);
  for (const [name, make] of Object.entries(makers)) {
    const opt = make(params);
    const r = await optimizerMs(opt, params, grads, steps);
    emit({ bench: 'optimizer-only', params: label, numParams: n, tensors: params.length, optimizer: name, msPerStep: +r.ms.toFixed(3), dispatchesPerStep: r.dispatches, steps });
    opt.dispose();
  }
  for (const t of [...params, ...grads]) t.dispose();
}

/**
 * SGD and PUGD training steps on ResNet-20 and PUGD's optimizer-only step on the same parameter set,
 * interleaved (SGD, PUGD, optimizer-only, SGD, …) so that a change in machine load affects all three
 * alike; medians of `reps` steps each after one warm-up step.
 */
async function trainingSteps(): Promise<{ SGD: number; PUGD: number; optimizer: number }> {
  const timed: { name: 'SGD' | 'PUGD' | 'optimizer'; step: () => Promise<unknown>; dispose: () => void; times: number[] }[] = [];
  for (const name of ['SGD', 'PUGD'] as const) {
    manualSeed(3);
    const model = models.resnet20({ generator: new Generator(3) });
    const x = randn([batch, 3, 32, 32], { generator: new Generator(4) });
    const y = tensor(Array.from({ length: batch }, (_, i) => i % 10), [batch], { dtype: 'i32' });
    const opt = makers[name](model.parameters());
    const closure = () => {
      opt.zeroGrad();
      const l = nn.functional.crossEntropy(model.forward(x), y);
      l.backward();
      return l;
    };
    timed.push({ name, step: () => opt.step(closure), dispose: () => [opt, model, x, y].forEach((o) => o.dispose()), times: [] });
  }
  {
    const model = models.resnet20({ generator: new Generator(1) });
    const params = model.parameters();
    const grads = params.map((p) => randn([...p.shape], { std: 0.01 }));
    const opt = makers.PUGD(params);
    const loss = tensor([1], [1]);
    const closure = () => {
      params.forEach((p, i) => (p.grad = grads[i].detach()));
      return loss.detach();
    };
    timed.push({ name: 'optimizer', step: () => opt.step(closure), dispose: () => [opt, model, loss, ...grads].forEach((o) => o.dispose()), times: [] });
  }
  for (const t of timed) await t.step();
  await backend.sync();
  for (let i = 0; i < reps; i++) {
    for (const t of timed) {
      const t0 = performance.now();
      await t.step();
      await backend.sync();
      t.times.push(performance.now() - t0);
    }
  }
  const out = { SGD: 0, PUGD: 0, optimizer: 0 };
  for (const t of timed) {
    out[t.name] = median(t.times);
    if (t.name !== 'optimizer') emit({ bench: 'training-step', model: 'resnet20', batch, optimizer: t.name, msPerStep: +out[t.name].toFixed(1), runsMs: t.times.map((v) => +v.toFixed(0)) });
    t.dispose();
  }
  return out;
}

if (only !== 'train') {
  await optimizerOnly('resnet20', resnet20Shapes(), Math.max(reps, 10));
  await optimizerOnly('resnet18', resnet18Shapes(), Math.max(reps, 5));
}
if (only !== 'optim') {
  const { SGD: sgd, PUGD: pugd, optimizer: optMs } = await trainingSteps();
  const ratio = pugd / sgd;
  const share = optMs / pugd;
  emit({
    bench: 'pugd-vs-sgd', model: 'resnet20', batch, pugdMs: +pugd.toFixed(1), sgdMs: +sgd.toFixed(1),
    ratio: +ratio.toFixed(3), ratioTarget: 2.1, ratioOk: ratio <= 2.1,
    optimizerMs: +optMs.toFixed(3), optimizerShare: +share.toFixed(5), shareTarget: 0.05, shareOk: share <= 0.05,
  });
}
backend.dispose();
process.exit(0);
