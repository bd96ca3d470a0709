// Optimizer benchmarks (JSON lines on stdout; the targets are checked here, never in tests).
//
//   1. optimizer-only: the time of the optimizer's own work per step, on ResNet-20's parameter set
//      (0.27 M, from models.resnet20) and on a parameter list with ResNet-18's shapes (11.17 M, the
//      CIFAR variant: 3×3 stem, 10 classes). The closure only hands over precomputed gradients
//      (a handle, no copy), so what is timed is the optimizer: its kernels and its host bookkeeping.
//   2. training step: PUGD step vs SGD step on ResNet-20 (forward + backward + optimizer, same batch),
//      the ratio (target ≤ 2.1: two passes are inherent) and the optimizer's share of a PUGD step
//      (target ≤ 5%).
//
// Usage: npm run build && node bench/optim.bench.mjs [--backend wasm|webgpu] [--batch 16] [--steps 3]
//        [--only optim|train]
// On queued backends every timing ends with a device sync, so the time is work done, not work queued.
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { resnet18Shapes, resnet20Shapes } from './shapes.mjs';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    batch: { type: 'string', default: '16' },
    steps: { type: 'string', default: '3' },
    only: { type: 'string', default: '' },
  },
});
const pugd = await import(new URL('../dist/index.js', import.meta.url).href);
const { setBackend, getBackend, setBackendLogger, tensor, randn, nn, models, optim, Generator, manualSeed, memory } = pugd;
setBackendLogger(null);
await setBackend(args.backend);
const backend = getBackend();
const device = backend.info.description;
const emit = (o) => console.log(JSON.stringify({ backend: args.backend, device, ...o }));
const sync = () => backend.sync();

function median(xs) {
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.floor(a.length / 2)];
}

const makers = {
  PUGD: (ps) => new optim.PUGD(ps),
  SGD: (ps) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }),
  SAM: (ps) => new optim.SAM(ps, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }),
  UGD: (ps) => new optim.UGD(ps),
  AdamW: (ps) => new optim.AdamW(ps),
};

async function optimizerOnly(name, shapes, steps) {
  const g = new Generator(1);
  const params = shapes.map((s) => randn(s, { std: 0.1, generator: g, requiresGrad: true }));
  const grads = shapes.map((s) => randn(s, { std: 0.01, generator: g }));
  const n = params.reduce((t, p) => t + p.size, 0);
  for (const [oname, make] of Object.entries(makers)) {
    const opt = make(params);
    const lossT = tensor([1], [1]);
    // The closure costs nothing on the device: it re-attaches the precomputed gradients.
    const closure = () => {
      params.forEach((p, i) => (p.grad = grads[i].detach()));
      return lossT.detach();
    };
    for (let i = 0; i < 2; i++) await opt.step(closure);
    await sync();
    const times = [];
    const d0 = memory().dispatches;
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await opt.step(closure);
      await sync();
      times.push(performance.now() - t0);
    }
    emit({
      bench: 'optimizer-only', params: name, numParams: n, tensors: params.length, optimizer: oname,
      msPerStep: +median(times).toFixed(3), dispatchesPerStep: (memory().dispatches - d0) / steps, steps,
    });
    opt.dispose();
    lossT.dispose();
  }
  for (const t of [...params, ...grads]) t.dispose();
}

async function trainingStep(batch, steps) {
  const results = {};
  for (const oname of ['SGD', 'PUGD']) {
    manualSeed(3);
    const model = models.resnet20({ generator: new Generator(3) });
    const x = randn([batch, 3, 32, 32], { generator: new Generator(4) });
    const y = tensor(Array.from({ length: batch }, (_, i) => i % 10), [batch], { dtype: 'i32' });
    const opt = makers[oname](model.parameters());
    const closure = () => {
      opt.zeroGrad();
      const l = nn.functional.crossEntropy(model.forward(x), y);
      l.backward();
      return l;
    };
    await opt.step(closure);
    await sync();
    const times = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await opt.step(closure);
      await sync();
      times.push(performance.now() - t0);
    }
    results[oname] = median(times);
    emit({ bench: 'training-step', model: 'resnet20', batch, optimizer: oname, msPerStep: +results[oname].toFixed(1), steps });
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  }
  return results;
}

const steps = Number(args.steps);
const only = args.only;
let optMs = null;
if (only !== 'train') {
  await optimizerOnly('resnet20', resnet20Shapes(pugd), Math.max(steps, 10));
  await optimizerOnly('resnet18', resnet18Shapes(), Math.max(steps, 5));
}
if (only !== 'optim') {
  // The optimizer-only PUGD time on ResNet-20's parameters, measured again right before the
  // training steps so the share compares like with like.
  const r20 = models.resnet20({ generator: new Generator(1) });
  const params = r20.parameters();
  const grads = params.map((p) => randn([...p.shape], { std: 0.01 }));
  const opt = new optim.PUGD(params);
  const lossT = tensor([1], [1]);
  const closure = () => {
    params.forEach((p, i) => (p.grad = grads[i].detach()));
    return lossT.detach();
  };
  for (let i = 0; i < 2; i++) await opt.step(closure);
  await sync();
  const ts = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await opt.step(closure);
    await sync();
    ts.push(performance.now() - t0);
  }
  optMs = median(ts);
  opt.dispose();
  lossT.dispose();
  for (const g of grads) g.dispose();
  r20.dispose();
  const batch = Number(args.batch);
  const r = await trainingStep(batch, steps);
  const ratio = r.PUGD / r.SGD;
  const share = optMs / r.PUGD;
  emit({
    bench: 'pugd-vs-sgd', model: 'resnet20', batch, pugdMs: +r.PUGD.toFixed(1), sgdMs: +r.SGD.toFixed(1),
    ratio: +ratio.toFixed(3), ratioTarget: 2.1, ratioOk: ratio <= 2.1,
    optimizerMs: +optMs.toFixed(3), optimizerShare: +share.toFixed(5), shareTarget: 0.05, shareOk: share <= 0.05,
  });
}
backend.dispose?.();
