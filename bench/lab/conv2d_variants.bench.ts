// Kernel lab: times wgsl/conv2d.wgsl against alternative sources of the same family (same entry
// points and params), alternating them in one process so that machine noise hits all alike; reports
// the minimum and median per kernel and shape. The production file is the baseline; alternatives are
// read from the paths in LAB_VARIANTS (comma-separated); a variant whose workgroup tiles differ says so
// in lines `// @lab-tiles conv2d_fwd=64x32` (columns × rows of the GEMM output per workgroup).
// Validates every variant against wasm first (outputs poisoned with NaN before each check).
// Usage: node bench/run.mjs lab/conv2d_variants   (env LAB_VARIANTS=/tmp/a.wgsl,/tmp/b.wgsl  BENCH_REPS=5)
import { readFileSync } from 'node:fs';
import { ensureSoftwareAdapterEnv } from '../../engine/backends/webgpu_node_env.js';
import { emit, median } from '../common.js';

ensureSoftwareAdapterEnv();
const pugd = await import('../../engine/index.js');
const { conv2d_fwd, conv2d_bwd_x, conv2d_bwd_w, conv2dGeometry } = await import('../../engine/ops/conv2d.js');
const { wgslSources } = await import('../../engine/generated/assets.js');
type Gpu = import('../../engine/backends/webgpu.js').WebGpuBackend;

const { conv2dTiles } = await import('../../engine/ops/conv2d.js');
const baseTiles = structuredClone(conv2dTiles);
const tilesOf = (src: string) => {
  const t = structuredClone(baseTiles);
  for (const m of src.matchAll(/@lab-tiles (\w+)=(\d+)x(\d+)/g)) t[m[1]] = [Number(m[2]), Number(m[3])];
  return t;
};
const variants = [{ name: 'production', src: wgslSources.conv2d }, ...(process.env.LAB_VARIANTS ?? '').split(',').filter(Boolean).map((p) => ({ name: p, src: readFileSync(p, 'utf8') }))].map((v) => ({ ...v, tiles: tilesOf(v.src) }));
async function use(b: Gpu, v: (typeof variants)[number]) {
  // Tiles first: the backend compiles them into the module as constants (engine/ops/launch.ts).
  Object.assign(conv2dTiles, v.tiles);
  await b.replaceFamilySource('conv2d', v.src);
}
const reps = Number(process.env.BENCH_REPS ?? 5);
const B = Number(process.env.BENCH_BATCH ?? 8);
const shapes = [{ name: 'stage1', C: 16, H: 32, K: 16, s: 1 }, { name: 'stage2', C: 32, H: 16, K: 32, s: 1 }, { name: 'stage3', C: 64, H: 8, K: 64, s: 1 }, { name: 'down', C: 16, H: 32, K: 32, s: 2 }];
pugd.setBackendLogger(null);
const g = new pugd.Generator(1);
for (const sh of shapes) {
  const xs = [B, sh.C, sh.H, sh.H];
  const ws = [sh.K, sh.C, 3, 3];
  const geo = conv2dGeometry(xs, ws, { stride: sh.s, padding: 1 }) as unknown as Record<string, number>;
  const flop = 2 * geo.N * geo.K * geo.P * geo.Q * geo.C * geo.R * geo.S;
  const host = [xs, ws, [geo.N, geo.K, geo.P, geo.Q]].map((s) => Float32Array.from({ length: s.reduce((a, b) => a * b) }, () => g.normal()));
  const ref: Record<string, Float32Array> = {};
  for (const be of ['wasm', 'webgpu'] as const) {
    await pugd.setBackend(be);
    const b = pugd.getBackend();
    const [x, w, dy] = [pugd.tensor(host[0], xs), pugd.tensor(host[1], ws), pugd.tensor(host[2], [geo.N, geo.K, geo.P, geo.Q])];
    const outs = { conv2d_fwd: pugd.zeros([geo.N, geo.K, geo.P, geo.Q]), conv2d_bwd_x: pugd.zeros(xs), conv2d_bwd_w: pugd.zeros(ws) };
    const jobs = [{ k: conv2d_fwd, ins: [x, w] }, { k: conv2d_bwd_x, ins: [dy, w] }, { k: conv2d_bwd_w, ins: [x, dy] }];
    for (const { k, ins } of jobs) {
      const out = outs[k.name as keyof typeof outs];
      const once = async () => {
        b.run(k, geo, ins.map((t) => t.storage.buf), [out.storage.buf]);
        await b.sync();
      };
      if (be === 'wasm') {
        await once();
        ref[k.name] = await out.toArray();
        continue;
      }
      const times: number[][] = variants.map(() => []);
      for (let v = 0; v < variants.length; v++) {
        await use(b as Gpu, variants[v]);
        b.upload(out.storage.buf, new Float32Array(out.size).fill(NaN));
        await once();
        const got = await out.toArray();
        let err = 0;
        let mag = 0;
        for (let i = 0; i < got.length; i++) {
          err = Math.max(err, Math.abs(got[i] - ref[k.name][i]));
          mag = Math.max(mag, Math.abs(ref[k.name][i]));
        }
        if (!(err <= 1e-4 * mag) && process.env.LAB_NO_VALIDATE !== "1") throw new Error(`${variants[v].name} ${k.name} ${sh.name}: max error ${err} vs max ${mag}`);
      }
      for (let r = 0; r < reps; r++) {
        for (let v = 0; v < variants.length; v++) {
          await use(b as Gpu, variants[v]);
          await once(); // pipeline creation outside the timing
          const t0 = performance.now();
          await once();
          times[v].push(performance.now() - t0);
        }
      }
      variants.forEach((v, i) => emit({ bench: 'lab/conv2d', variant: v.name, kernel: k.name, shape: sh.name, ms_min: +Math.min(...times[i]).toFixed(2), ms_median: +median(times[i]).toFixed(2), gflops_best: +(flop / Math.min(...times[i]) / 1e6).toFixed(3) }));
    }
    for (const t of [x, w, dy, ...Object.values(outs)]) t.dispose();
  }
}
process.exit(0);
