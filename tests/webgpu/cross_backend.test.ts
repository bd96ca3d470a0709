// WebGPU against WASM on the same inputs: every op forward and backward, on shapes that are not
// multiples of the tile sizes (32×32 register-blocked tiles, 64×64 workgroup tiles) and large enough to
// take the multi-pass paths (two-level reductions above 4096 values, split weight gradients above 1024
// output pixels, chunked BN statistics above 1024 values per channel, per-row losses above 4 rows).
// A final check asserts that the cases dispatched every kernel of the registry on both backends.
// Matmul and conv2d also run on both WebGPU variants (barrier-free `regs`, workgroup-memory `tiled`).
//
// Tolerance: |webgpu − wasm| ≤ 1e-4·|wasm| + 1e-5·max|wasm| over the tensor. Both are f32 with
// different summation orders (WASM: f32x4 lanes and f64 block totals; WebGPU: per-invocation vec4
// chains, chunk partials): for the reductions here (≤ 10⁵ terms) that stays well inside 1e-4 relative,
// and the absolute term covers elements that are small through cancellation. Each op is also checked
// against its float64 reference on both backends in tests/ops/.
import { describe, it, expect } from 'vitest';
import { Generator, getBackend, nn, setBackend, tensor, tidy, type BackendName, type Tensor } from '../../engine/index.js';
import { countCorrect, padChannels, full, clone } from '../../engine/ops/index.js';
import { kernels } from '../../engine/ops/index.js';
import { dispatch } from '../../engine/ops/op.js';
import * as optim from '../../engine/ops/optim.js';
import { philoxBits } from '../../engine/ops/dropout.js';
import type { WebGpuBackend } from '../../engine/backends/webgpu.js';
import { expectClose, randData, runOp, testBackends, type Input } from '../harness.js';
import { fixedBatch, tinyResBlock } from '../tiny_resblock.js';

const F = nn.functional;
const backends = testBackends();
const enabled = backends.includes('webgpu') && backends.includes('wasm');
if (!enabled) console.log(`tests/webgpu/cross_backend.test.ts: SKIPPED — needs wasm and webgpu in PUGD_TEST_BACKENDS (have ${backends.join(',')})`);

interface Case {
  name: string;
  inputs: (g: Generator) => Input[];
  f: (ts: Tensor[]) => Tensor;
  /** Backpropagate a random dy (default true). */
  backward?: boolean;
}

const inp = (g: Generator, shape: number[], grad = true, opts?: Parameters<typeof randData>[2]): Input => ({
  data: randData(g, shape.reduce((a, b) => a * b, 1), opts).f32, shape, grad,
});
const labels = (g: Generator, n: number, classes: number) => tensor(Array.from({ length: n }, () => g.int(classes)), [n], { dtype: 'i32' });

const conv = (N: number, C: number, H: number, W: number, K: number, R: number, S: number, stride: number, pad: number): Case => ({
  name: `conv2d N${N} C${C} ${H}×${W} K${K} ${R}×${S} stride ${stride} pad ${pad}`,
  inputs: (g) => [inp(g, [N, C, H, W]), inp(g, [K, C, R, S]), inp(g, [K])],
  f: ([x, w, b]) => F.conv2d(x, w, b, { stride, padding: pad }),
});

const cases: Case[] = [
  { name: 'add broadcast [5,13,7,5] + [1,13,1,1]', inputs: (g) => [inp(g, [5, 13, 7, 5]), inp(g, [1, 13, 1, 1])], f: ([a, b]) => a.add(b) },
  { name: 'sub same shape [3,37]', inputs: (g) => [inp(g, [3, 37]), inp(g, [3, 37])], f: ([a, b]) => a.sub(b) },
  { name: 'mul broadcast [2,1,3,1,5] · [1,4,1,6,1]', inputs: (g) => [inp(g, [2, 1, 3, 1, 5]), inp(g, [1, 4, 1, 6, 1])], f: ([a, b]) => a.mul(b) },
  { name: 'affine, square, clone [7,9]', inputs: (g) => [inp(g, [7, 9])], f: ([a]) => tidy(() => clone(a.mul(1.5).add(-0.25)).square()) },
  { name: 'relu [5,13,7,5]', inputs: (g) => [inp(g, [5, 13, 7, 5], true, { awayFrom: 0 })], f: ([a]) => a.relu() },
  { name: 'sum of 100003 (two-level tree)', inputs: (g) => [inp(g, [100003])], f: ([a]) => a.sum() },
  { name: 'mean of [7,5] (serial)', inputs: (g) => [inp(g, [7, 5])], f: ([a]) => a.mean() },
  { name: 'sumSquares of 54321 (two-level tree)', inputs: (g) => [inp(g, [54321])], f: ([a]) => a.sumSquares() },
  { name: 'sumSquares of [13,17] (serial)', inputs: (g) => [inp(g, [13, 17])], f: ([a]) => a.sumSquares() },
  { name: 'matmul [65,70]·[70,67]', inputs: (g) => [inp(g, [65, 70]), inp(g, [70, 67])], f: ([a, b]) => a.matmul(b) },
  { name: 'matmul [1,1]·[1,1]', inputs: (g) => [inp(g, [1, 1]), inp(g, [1, 1])], f: ([a, b]) => a.matmul(b) },
  { name: 'matmul [130,3]·[3,129]', inputs: (g) => [inp(g, [130, 3]), inp(g, [3, 129])], f: ([a, b]) => a.matmul(b) },
  { name: 'linear [37,33] → 9 with bias', inputs: (g) => [inp(g, [37, 33]), inp(g, [9, 33]), inp(g, [9])], f: ([x, w, b]) => F.linear(x, w, b) },
  conv(3, 5, 13, 11, 7, 3, 3, 1, 1),
  conv(4, 16, 16, 15, 17, 3, 3, 2, 1),
  conv(8, 6, 16, 16, 9, 3, 3, 1, 1), // N·P·Q = 2048: split weight gradient
  conv(2, 3, 9, 8, 13, 1, 1, 1, 0),
  conv(2, 3, 13, 13, 8, 7, 7, 2, 3),
  conv(2, 4, 6, 7, 5, 3, 2, 1, 0),
  ...[true, false].map((training): Case => ({
    name: `batchNorm2d ${training ? 'training' : 'eval'} [8,5,16,13] (chunked statistics)`,
    inputs: (g) => [inp(g, [8, 5, 16, 13], true, { lo: -2, hi: 3 }), inp(g, [5], true, { lo: 0.5, hi: 1.5 }), inp(g, [5])],
    f: ([x, w, b]) => {
      const rm = tensor([0.1, -0.2, 0.3, 0, 0.5], [5]);
      const rv = tensor([1, 0.5, 2, 1.5, 0.8], [5]);
      const y = F.batchNorm2d(x, w, b, rm, rv, { training });
      rm.dispose();
      rv.dispose();
      return y;
    },
  })),
  { name: 'batchNorm2d training [3,4,5,7] (serial statistics)', inputs: (g) => [inp(g, [3, 4, 5, 7], true, { lo: -2, hi: 3 }), inp(g, [4]), inp(g, [4])], f: ([x, w, b]) => F.batchNorm2d(x, w, b, null, null, { training: true }) },
  { name: 'maxPool2d 3×3 stride 2 pad 1 [2,3,11,9]', inputs: (g) => [inp(g, [2, 3, 11, 9])], f: ([x]) => F.maxPool2d(x, { kernel: 3, stride: 2, padding: 1 }) },
  { name: 'avgPool2d 3×3 stride 2 pad 1 [2,3,11,9]', inputs: (g) => [inp(g, [2, 3, 11, 9])], f: ([x]) => F.avgPool2d(x, { kernel: 3, stride: 2, padding: 1 }) },
  { name: 'avgPool2d 1×1 stride 2 [2,3,11,9]', inputs: (g) => [inp(g, [2, 3, 11, 9])], f: ([x]) => F.avgPool2d(x, { kernel: 1, stride: 2 }) },
  { name: 'globalAvgPool2d [3,5,7,7]', inputs: (g) => [inp(g, [3, 5, 7, 7])], f: ([x]) => F.globalAvgPool2d(x) },
  { name: 'padChannels [2,5,3,7] + 3 before, 4 after', inputs: (g) => [inp(g, [2, 5, 3, 7])], f: ([x]) => padChannels(x, 3, 4) },
  ...[3, 37].map((N): Case => ({
    name: `crossEntropy N${N} C10 smoothing 0.1 (${N > 4 ? 'per-row losses + tree' : 'serial'})`,
    inputs: (g) => [inp(g, [N, 10], true, { lo: -3, hi: 3 })],
    f: ([z]) => {
      const y = labels(new Generator(N), N, 10);
      const l = F.crossEntropy(z, y, { labelSmoothing: 0.1 });
      y.dispose();
      return l;
    },
  })),
  ...[3, 37].map((N): Case => ({
    name: `countCorrect N${N} C10`,
    inputs: (g) => [inp(g, [N, 10], false)],
    backward: false,
    f: ([z]) => {
      const y = labels(new Generator(N), N, 10);
      const c = countCorrect(z, y);
      y.dispose();
      return c;
    },
  })),
  ...[[3, 10], [130, 7]].map(([N, C]): Case => ({
    name: `argmax [${N},${C}] (i32)`,
    inputs: (g) => [inp(g, [N, C], false)],
    backward: false,
    f: ([z]) => z.argmax(),
  })),
  { name: 'dropout p 0.3 [37,271] (Philox masks)', inputs: (g) => [inp(g, [37, 271])], f: ([x]) => F.dropout(x, 0.3, { generator: new Generator(8) }) },
  { name: 'dropout_bits: 10007 words of the Philox stream', inputs: () => [], backward: false, f: () => philoxBits(10_007, [0xfffff000, 0xffffffff, 3, 4], [5, 6]) },
  { name: 'full / zeros [5,7]', inputs: (g) => [inp(g, [5, 7])], f: ([a]) => tidy(() => a.add(full([5, 7], 0.75))) },
  ...optimCases(),
];

/**
 * The optimizer kernels (engine/ops/optim.ts), dispatched directly as engine/optim does, on 10000
 * elements (three 4096-element norm chunks). The optimizers themselves run on both backends in
 * tests/optim/.
 */
function optimCases(): Case[] {
  const N = 10000;
  const slots = 3;
  const vec = (g: Generator, lo = -1, hi = 1) => inp(g, [N], false, { lo, hi });
  const norms = () => tensor([2.5, 7.25, 0, 0], [4]);
  const out = (f: (ts: Tensor[]) => Tensor) => (ts: Tensor[]) => tidy(f.bind(null, ts));
  return [
    {
      name: 'optim_sumsq, optim_sumsq_wg, optim_sumsq_add: chunk sums into norm slots',
      inputs: (g) => [vec(g, -2, 2), vec(g), vec(g)],
      backward: false,
      f: out(([w, g1, g2]) => {
        const parts = full([3 * slots], 0);
        dispatch(optim.optim_sumsq, { n: N, slot: 0 }, [g1], [parts]);
        dispatch(optim.optim_sumsq_wg, { n: N, slot: slots, eta: 0.01 }, [w, g1], [parts]);
        dispatch(optim.optim_sumsq_add, { n: N, slot: 2 * slots }, [g1, g2], [parts]);
        return parts;
      }),
    },
    ...(['norms', 'status'] as const).map((what): Case => ({
      name: `optim_norm_finish: the ${what === 'norms' ? 'norm of 290 slots' : 'status record of an infinite loss'}`,
      inputs: (g) => [inp(g, [300], false, { lo: 0, hi: 50 })],
      backward: false,
      f: out(([parts]) => {
        const n = full([4], 0);
        const status = tensor([-1, -1, -1, -1], [4], { dtype: 'i32' });
        const loss = tensor([what === 'norms' ? 0.5 : Infinity], [1]);
        dispatch(optim.optim_norm_finish, { first: 5, count: 290, out: 1, step: 3 }, [parts, loss], [n, status]);
        return what === 'norms' ? n : status;
      }),
    })),
    ...[0, 1, 2].map((power): Case => ({
      name: `optim_perturb power ${power}: w + ε and the saved copy`,
      inputs: (g) => [vec(g), vec(g, -2, 2)],
      backward: false,
      f: out(([g1, w0]) => {
        const w = clone(w0);
        const ws = full([N], 0);
        dispatch(optim.optim_perturb, { n: N, radius: 0.7, eta: power === 2 ? 0.01 : 0, eps: 1e-12, normIdx: 0, power }, [g1, norms()], [w, ws]);
        return w.sub(ws);
      }),
    })),
    ...[0, 1].map((first): Case => ({
      name: `optim_sgd_step (PUGD's fused update, first ${first}): w and momentum buffer`,
      inputs: (g) => [vec(g), vec(g), vec(g, -2, 2), vec(g)],
      backward: false,
      f: out(([g1, g2, ws, b0]) => {
        const w = full([N], 0);
        const buf = clone(b0);
        dispatch(optim.optim_sgd_step, {
          n: N, lr: 0.1, momentum: 0.9, oneMinusDampening: 1, weightDecay: 5e-4, eps: 1e-12, normIdx: 1, guardIdx: 0, first,
          sumGrads: 1, normalize: 1, restore: 1, nesterov: first, hasMomentum: 1,
        }, [g1, g2, ws, norms()], [w, buf]);
        return w.mul(1000).add(buf);
      }),
    })),
    ...[0, 1].map((decoupled): Case => ({
      name: `optim_adam_step (${decoupled ? 'AdamW' : 'Adam'}): w, m, v`,
      inputs: (g) => [vec(g), vec(g, -2, 2), vec(g), vec(g, 0, 1)],
      backward: false,
      f: out(([g1, w0, m0, v0]) => {
        const [w, m, v] = [clone(w0), clone(m0), clone(v0)];
        dispatch(optim.optim_adam_step, {
          n: N, stepSize: 0.01, oneMinusBeta1: 0.1, beta2: 0.999, oneMinusBeta2: 0.001, bc2Sqrt: 0.05, eps: 1e-8, weightDecay: 0.01,
          decay: 0.999, guardIdx: 0, guard2Idx: 1, decoupled, restore: 0,
        }, [g1, g1, norms()], [w, m, v]);
        return w.mul(100).add(m.mul(10)).add(v);
      }),
    })),
  ];
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function compare(label: string, gpu: ArrayLike<number>, cpu: ArrayLike<number>, shape?: readonly number[]): void {
  expectClose(label, gpu, cpu, { rtol: 1e-4, atol: 1e-5 * maxAbs(cpu) + 1e-30, shape });
}

/** Kernel names each backend dispatched, recorded by wrapping its run(). */
const seen: Record<string, Set<string>> = { wasm: new Set(), webgpu: new Set() };
async function instrument(name: BackendName): Promise<void> {
  await setBackend(name);
  const b = getBackend();
  const orig = b.run.bind(b);
  if ((b as { __wrapped?: boolean }).__wrapped) return;
  (b as { __wrapped?: boolean }).__wrapped = true;
  b.run = (k, p, i, o) => {
    seen[name].add(k.name);
    orig(k, p, i, o);
  };
}

async function runOn(name: BackendName, c: Case, seed: number) {
  await instrument(name);
  const g = new Generator(seed);
  const ins = c.inputs(g);
  const probe = await runOp(ins.map((i) => ({ ...i, grad: false })), c.f);
  const dy = c.backward === false ? undefined : randData(g, probe.y.length).f32;
  return runOp(ins, c.f, dy);
}

describe.skipIf(!enabled)('webgpu agrees with wasm', () => {
  cases.forEach((c, idx) => {
    it(c.name, async () => {
      const cpu = await runOn('wasm', c, 100 + idx);
      const gpu = await runOn('webgpu', c, 100 + idx);
      expect(gpu.shape).toEqual(cpu.shape);
      compare(`${c.name}: output`, gpu.y, cpu.y, cpu.shape);
      cpu.grads.forEach((gc, i) => {
        if (!gc) return;
        compare(`${c.name}: gradient of input ${i}`, gpu.grads[i]!, gc);
      });
    });
  });

  it('matmul and conv2d: the tiled (workgroup-memory) and register-blocked variants agree with wasm', async () => {
    await setBackend('webgpu');
    const b = getBackend() as WebGpuBackend;
    const saved = b.variant;
    const variantCases: Case[] = [
      ...[[65, 70, 67], [5, 128, 10], [130, 3, 129], [1, 17, 1]].map(([M, K, N]): Case => ({
        name: `matmul [${M},${K}]·[${K},${N}]`, inputs: (g) => [inp(g, [M, K]), inp(g, [K, N])], f: ([x, y]) => x.matmul(y),
      })),
      conv(3, 5, 13, 11, 7, 3, 3, 1, 1),
      conv(2, 16, 16, 15, 67, 3, 3, 2, 1),
      conv(2, 3, 13, 13, 8, 7, 7, 2, 3),
      conv(2, 4, 6, 7, 5, 3, 2, 1, 0),
    ];
    try {
      for (const variant of ['tiled', 'regs'] as const) {
        for (const [i, c] of variantCases.entries()) {
          b.variant = variant;
          const cpu = await runOn('wasm', c, 500 + i);
          const gpu = await runOn('webgpu', c, 500 + i);
          compare(`${variant} ${c.name}: output`, gpu.y, cpu.y, cpu.shape);
          cpu.grads.forEach((gc, k) => gc && compare(`${variant} ${c.name}: gradient of input ${k}`, gpu.grads[k]!, gc));
        }
      }
    } finally {
      b.variant = saved;
    }
  });

  it('the cases above dispatched every kernel of the registry on both backends', () => {
    const all = Object.values(kernels).flat().map((k) => k.name);
    for (const name of ['wasm', 'webgpu']) {
      const missing = all.filter((k) => !seen[name].has(k));
      expect(missing, `kernels never run on ${name}`).toEqual([]);
    }
  });

  it('the small residual block: 20 SGD steps give the same losses on both backends (within 1e-3)', async () => {
    const train = async (name: BackendName) => {
      await setBackend(name);
      const net = tinyResBlock({ C: 8, classes: 4, seed: 3 });
      const b = fixedBatch(6, 3, 7, 5, 4);
      const x = tensor(b.x, b.shape);
      const y = tensor(b.labels, [b.labels.length], { dtype: 'i32' });
      const losses: number[] = [];
      for (let i = 0; i < 20; i++) {
        const l = net.loss(x, y);
        l.backward();
        losses.push(await l.item());
        l.dispose();
        net.step(0.1);
      }
      x.dispose();
      y.dispose();
      net.dispose();
      return losses;
    };
    const cpu = await train('wasm');
    const gpu = await train('webgpu');
    expect(cpu[19]).toBeLessThan(cpu[0]);
    for (let i = 0; i < 20; i++) expect(Math.abs(gpu[i] - cpu[i]), `step ${i}: webgpu ${gpu[i]} vs wasm ${cpu[i]}`).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(cpu[i])));
  });
});

