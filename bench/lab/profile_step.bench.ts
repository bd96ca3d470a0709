// Kernel lab: where a ResNet-20 training step spends its time on the current adapter. Records every
// kernel dispatch of one step (kernel, params, buffer sizes), replays each one alone on fresh buffers
// with a sync around it (best of 3), and prints one JSON line per kernel name with its total share.
// Replays use zero-filled inputs (timing only). Usage: node bench/run.mjs lab/profile_step (BENCH_BATCH=8)
import { ensureSoftwareAdapterEnv } from '../../engine/backends/webgpu_node_env.js';
import { emit } from '../common.js';
import type { KernelSpec } from '../../engine/kernel.js';

ensureSoftwareAdapterEnv();
const pugd = await import('../../index.js');
const B = Number(process.env.BENCH_BATCH ?? 8);
pugd.setBackendLogger(null);
await pugd.setBackend((process.env.BENCH_BACKEND ?? 'webgpu') as 'webgpu');
const b = pugd.getBackend();
const g = new pugd.Generator(1);
const model = pugd.models.resnet20({ generator: g });
const x = pugd.randn([B, 3, 32, 32], { generator: g });
const labels = pugd.tensor(Array.from({ length: B }, () => g.int(10)), [B], { dtype: 'i32' });
const calls: { k: KernelSpec; params: Record<string, number>; ins: number[]; outs: number[] }[] = [];
const orig = b.run.bind(b);
b.run = (k, params, ins, outs) => {
  calls.push({ k, params: { ...params }, ins: ins.map((q) => q.bytes), outs: outs.map((q) => q.bytes) });
  orig(k, params, ins, outs);
};
const loss = pugd.tidy(() => pugd.nn.functional.crossEntropy(model.forward(x), labels));
loss.backward();
pugd.noGrad(() => {
  for (const p of model.parameters()) {
    const u = pugd.tidy(() => p.sub(p.grad!.mul(0.01)));
    p.assign(u);
    u.dispose();
    p.grad = null;
  }
});
await loss.item();
b.run = orig;
const perKernel = new Map<string, { ms: number; n: number }>();
let total = 0;
for (const c of calls) {
  const ins = c.ins.map((n) => b.alloc(n, 'replay in'));
  const outs = c.outs.map((n) => b.alloc(n, 'replay out'));
  for (const q of ins) b.upload(q, new Uint8Array(q.bytes));
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    await b.sync();
    const t0 = performance.now();
    b.run(c.k, c.params, ins, outs);
    await b.sync();
    best = Math.min(best, performance.now() - t0);
  }
  for (const q of [...ins, ...outs]) b.free(q);
  const e = perKernel.get(c.k.name) ?? { ms: 0, n: 0 };
  e.ms += best;
  e.n++;
  perKernel.set(c.k.name, e);
  total += best;
}
for (const [k, e] of [...perKernel].sort((p, q) => q[1].ms - p[1].ms)) {
  emit({ bench: 'lab/profile_step', batch: B, kernel: k, calls: e.n, ms: +e.ms.toFixed(1), share: +(e.ms / total).toFixed(3) });
}
emit({ bench: 'lab/profile_step', batch: B, kernel: 'TOTAL (replayed one by one)', calls: calls.length, ms: +total.toFixed(1) });
process.exit(0);
