// conv2d forward, input gradient and weight gradient at the 3×3 layer shapes of ResNet-20 (CIFAR) and
// ResNet-18 (ImageNet stage 1–2), timed on the chosen backend: one JSON line per kernel and shape with
// ms (median) and GFLOP/s (2·N·K·P·Q·C·R·S per kernel). Validates each shape once against WASM first.
// Usage: node bench/run.mjs conv2d_webgpu   (env: BENCH_BACKEND=webgpu|wasm, BENCH_BATCH=8, BENCH_REPS=5,
// BENCH_SHAPES=cifar|imagenet|all,
// BENCH_KERNELS=conv2d_fwd,...)
import { ensureSoftwareAdapterEnv } from '../engine/backends/webgpu_node_env.js';
import { backendDesc, emit, median, timeRuns } from './common.js';

ensureSoftwareAdapterEnv();
const pugd = await import('../engine/index.js');
const { conv2d_fwd, conv2d_bwd_x, conv2d_bwd_w, conv2dGeometry } = await import('../engine/ops/conv2d.js');

const backend = (process.env.BENCH_BACKEND ?? 'webgpu') as 'webgpu' | 'wasm';
const B = Number(process.env.BENCH_BATCH ?? 8);
const reps = Number(process.env.BENCH_REPS ?? 5);
const which = process.env.BENCH_SHAPES ?? 'cifar';
const shapes = [
  ...(which !== 'imagenet' ? [{ name: 'resnet20 stage1', C: 16, H: 32, K: 16, s: 1 }, { name: 'resnet20 stage2', C: 32, H: 16, K: 32, s: 1 }, { name: 'resnet20 stage3', C: 64, H: 8, K: 64, s: 1 }, { name: 'resnet20 down', C: 16, H: 32, K: 32, s: 2 }] : []),
  ...(which !== 'cifar' ? [{ name: 'resnet18 stage1', C: 64, H: 56, K: 64, s: 1 }, { name: 'resnet18 stage2', C: 128, H: 28, K: 128, s: 1 }] : []),
];

pugd.setBackendLogger(null);
const g = new pugd.Generator(1);
for (const sh of shapes) {
  const xs = [B, sh.C, sh.H, sh.H];
  const ws = [sh.K, sh.C, 3, 3];
  const geo = conv2dGeometry(xs, ws, { stride: sh.s, padding: 1 });
  const flop = 2 * geo.N * geo.K * geo.P * geo.Q * geo.C * geo.R * geo.S;
  const host = {
    x: Float32Array.from({ length: xs.reduce((a, b) => a * b) }, () => g.normal()),
    w: Float32Array.from({ length: ws.reduce((a, b) => a * b) }, () => g.normal() * 0.1),
    dy: Float32Array.from({ length: geo.N * geo.K * geo.P * geo.Q }, () => g.normal()),
  };
  const results: Record<string, Float32Array> = {};
  for (const be of backend === 'wasm' ? ['wasm'] : ['wasm', backend]) {
    await pugd.setBackend(be as 'wasm' | 'webgpu');
    const b = pugd.getBackend();
    const x = pugd.tensor(host.x, xs);
    const w = pugd.tensor(host.w, ws);
    const dy = pugd.tensor(host.dy, [geo.N, geo.K, geo.P, geo.Q]);
    const y = pugd.zeros([geo.N, geo.K, geo.P, geo.Q]);
    const dx = pugd.zeros(xs);
    const dw = pugd.zeros(ws);
    const kernels = [
      { k: conv2d_fwd, ins: [x, w], out: y },
      { k: conv2d_bwd_x, ins: [dy, w], out: dx },
      { k: conv2d_bwd_w, ins: [x, dy], out: dw },
    ];
    const only = process.env.BENCH_KERNELS?.split(',');
    for (const { k, ins, out } of kernels.filter((e) => !only || only.includes(e.k.name))) {
      const run = async () => {
        b.run(k, geo as unknown as Record<string, number>, ins.map((t) => t.storage.buf), [out.storage.buf]);
        await b.sync();
      };
      if (be !== backend) {
        await run();
        results[k.name] = await out.toArray();
        continue;
      }
      const times = await timeRuns(run, 1, reps);
      const got = await out.toArray();
      const ref = results[k.name];
      let maxErr = 0;
      let maxRef = 0;
      if (ref) for (let i = 0; i < ref.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(got[i] - ref[i]));
        maxRef = Math.max(maxRef, Math.abs(ref[i]));
      }
      const ms = median(times);
      emit({ bench: 'conv2d', kernel: k.name, shape: sh.name, x: xs, w: ws, stride: sh.s, ...backendDesc(), ms_median: +ms.toFixed(2), gflops: +(flop / ms / 1e6).toFixed(3), reps, max_rel_err_vs_wasm: ref ? +(maxErr / maxRef).toExponential(2) : null });
    }
    for (const t of [x, w, dy, y, dx, dw]) t.dispose();
  }
}
process.exit(0);
