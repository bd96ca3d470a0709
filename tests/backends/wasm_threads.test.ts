// The WASM backend's threads: every kernel gives the same bits on 1, 2, 3 and 64 threads, whichever
// thread runs a share, and in the single-threaded build (kernels split outputs, never reductions); a
// ResNet-20 training step too; the thread count is chosen by setBackend / PUGD_THREADS and reported in
// info; a trapping share is reported, not hung on; worker threads never keep a process alive. Bitwise
// comparisons, so no tolerance: any reordering of a sum fails them.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Generator, getBackend, models, nn, noGrad, optim, setBackend, tensor, tidy, type Backend, type Tensor } from '../../index.js';
import { kernels } from '../../engine/ops/index.js';
import { Storage, Tensor as TensorClass } from '../../engine/tensor.js';
import { mm } from '../../engine/ops/index.js';
import { matmul_fwd as matmulKernel } from '../../engine/ops/matmul.js';
import { philoxBits } from '../../engine/ops/dropout.js';
import { WasmBackend } from '../../engine/backends/wasm.js';

const F = nn.functional;

/** A tensor on backend `b` (not necessarily the current one). */
function on(b: Backend, data: Float32Array | Int32Array, shape: number[], grad = false): Tensor {
  const dtype = data instanceof Int32Array ? 'i32' : 'f32';
  const buf = b.alloc(data.byteLength, 'test');
  b.upload(buf, data);
  const t = new TensorClass(new Storage(b, buf, dtype, data.length), shape, dtype);
  if (grad) t.requiresGrad = true;
  return t;
}

/**
 * Runs one of each kernel family, forward and backward, on `b` at shapes that split unevenly over
 * threads (and cross the GEMM's tiles), returning every output and gradient by name.
 */
async function suite(b: Backend): Promise<Map<string, Float32Array>> {
  const g = new Generator(11);
  const r = (n: number) => Float32Array.from({ length: n }, () => 2 * g.uniform() - 1);
  const out = new Map<string, Float32Array>();
  const keep = async (name: string, t: Tensor | null) => {
    if (!t) throw new Error(`${name}: no tensor`);
    out.set(name, await t.toArray());
  };
  const leaves: Tensor[] = [];
  const leaf = (data: Float32Array | Int32Array, shape: number[], grad = true) => {
    const t = on(b, data, shape, grad);
    leaves.push(t);
    return t;
  };

  // matmul, all four transposes, through the kernel directly.
  const [M, K, N] = [67, 300, 45];
  const A = r(M * K), B = r(K * N);
  for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    const c = noGrad(() => mm(leaf(A, tA ? [K, M] : [M, K], false), leaf(B, tB ? [N, K] : [K, N], false), tA, tB));
    await keep(`matmul ${tA}${tB}`, c);
    c.dispose();
  }

  // conv2d forward and backward: batch split, batch 1 (column/channel split), stride 2 (col2im).
  const convs = [
    { x: [3, 16, 14, 14], w: [24, 16, 3, 3], stride: 1, padding: 1 },
    { x: [1, 16, 14, 14], w: [20, 16, 3, 3], stride: 1, padding: 1 },
    { x: [3, 8, 15, 15], w: [12, 8, 3, 3], stride: 2, padding: 1 },
  ];
  for (const [i, c] of convs.entries()) {
    const x = leaf(r(c.x.reduce((a, v) => a * v)), c.x);
    const w = leaf(r(c.w.reduce((a, v) => a * v)), c.w);
    const y = F.conv2d(x, w, null, { stride: c.stride, padding: c.padding });
    const dy = on(b, r(y.size), [...y.shape]);
    await keep(`conv${i} y`, y);
    y.backward(dy);
    dy.dispose();
    y.dispose();
    await keep(`conv${i} dx`, x.grad);
    await keep(`conv${i} dw`, w.grad);
  }

  // batchnorm (training), relu, broadcast add, pooling, channel padding, global average, linear, CE.
  const x = leaf(r(4 * 12 * 10 * 10), [4, 12, 10, 10]);
  const gamma = leaf(r(12), [12]);
  const beta = leaf(r(12), [12]);
  const rm = leaf(r(12), [12], false);
  const rv = leaf(Float32Array.from(r(12), (v) => 1 + Math.abs(v)), [12], false);
  const bias = leaf(r(12), [1, 12, 1, 1]);
  const fcw = leaf(r(10 * 12), [10, 12]);
  const fcb = leaf(r(10), [10]);
  const loss = tidy(() => {
    const h = F.relu(F.batchNorm2d(x, gamma, beta, rm, rv, { training: true }).add(bias));
    const m = F.maxPool2d(h, { kernel: 3, stride: 2, padding: 1 });
    const a = F.avgPool2d(h, { kernel: 1, stride: 2 });
    const a3 = F.avgPool2d(h, { kernel: 3, stride: 1, padding: 1 });
    const p = F.padChannels(a, 2, 3);
    const feat = F.globalAvgPool2d(a3.mul(h)).flatten();
    const logits = F.linear(feat, fcw, fcb);
    return F.crossEntropy(logits, [1, 4, 9, 0]).add(m.sumSquares().mul(0.01)).add(p.mean());
  });
  await keep('loss', loss);
  const seed = on(b, Float32Array.of(1), [1]); // on b: backward() would seed on the current backend
  loss.backward(seed);
  seed.dispose();
  loss.dispose();
  for (const [name, t] of Object.entries({ x, gamma, beta, bias, fcw, fcb })) await keep(`${name} grad`, t.grad);
  await keep('running mean', rm);
  await keep('running var', rv);

  // dropout (Philox masks) forward and backward, and the raw Philox stream, over a size that splits
  // unevenly and ends inside a Philox block.
  const xd = leaf(r(10_007), [10_007]);
  const yd = F.dropout(xd, 0.3, { generator: new Generator(12) });
  const dyd = on(b, r(yd.size), [...yd.shape]);
  await keep('dropout y', yd);
  yd.backward(dyd);
  for (const t of [dyd, yd]) t.dispose();
  await keep('dropout dx', xd.grad);
  const bits = philoxBits(10_007, [0xfffff000, 0xffffffff, 3, 4], [5, 6], b);
  out.set('philox bits', new Float32Array((await bits.data()).buffer));
  bits.dispose();
  for (const t of leaves) t.dispose();
  return out;
}

function expectSameBits(label: string, a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [name, va] of a) {
    const vb = b.get(name)!;
    expect(vb.length, `${label}: ${name} length`).toBe(va.length);
    const ua = new Uint32Array(va.buffer, va.byteOffset, va.length);
    const ub = new Uint32Array(vb.buffer, vb.byteOffset, vb.length);
    const i = ua.findIndex((v, k) => v !== ub[k]);
    if (i >= 0) throw new Error(`${label}: ${name}[${i}] differs: ${va[i]} vs ${vb[i]}`);
  }
}

async function wasmThreads(n: number): Promise<WasmBackend> {
  await setBackend('wasm', { threads: n });
  const b = getBackend() as unknown as WasmBackend;
  expect(b.info.threads).toBe(n);
  return b;
}

describe('wasm backend threads', () => {
  afterAll(async () => {
    const b = await wasmThreads(2);
    b.setParallelMinBytes();
  });

  it('reports its thread count and refuses bad counts, naming the option', async () => {
    const b = await wasmThreads(2);
    expect(b.info.description).toBe('wasm (SIMD, 2 threads)');
    await wasmThreads(1);
    expect(getBackend().info.description).toBe('wasm (SIMD, 1 thread)');
    // Overlapping changes apply in order; the last one wins.
    await Promise.all([setBackend('wasm', { threads: 3 }), setBackend('wasm', { threads: 1 })]);
    expect(getBackend().info.threads).toBe(1);
    await expect(setBackend('wasm', { threads: 0 })).rejects.toThrow("setBackend('wasm'): threads must be an integer from 1 to 64, got 0");
    await expect(setBackend('wasm', { threads: 2.5 })).rejects.toThrow('got 2.5');
  });

  it('every kernel gives the same bits on 1, 2, 3 and 64 threads and in the single-threaded build', async () => {
    const one = await suite(await wasmThreads(1));
    // 64 = MAX_THREADS: more threads than work units, so most shares are empty.
    for (const n of [2, 3, 64]) {
      const b = await wasmThreads(n);
      b.setParallelMinBytes(0, 0); // every call split over all threads
      expectSameBits(`${n} threads vs 1`, one, await suite(b));
      b.setParallelMinBytes();
    }
    const st = await WasmBackend.create({ build: 'single', threads: 1 });
    expect(st.info.description).toBe('wasm (SIMD, 1 thread)');
    expectSameBits('single-threaded build vs threads build', one, await suite(st));
    expect(st.counters.liveBuffers, 'suite leaked buffers').toBe(0);
    st.dispose();
  });

  it('every optimizer gives the same bits on 1, 2 and 3 threads; together the suites dispatch every registry kernel', async () => {
    // Optimizer kernels update parameters in place: a kernel that ignored its share would apply the
    // update once per thread. Sizes above one norm chunk (4096) and not multiples of 16 split unevenly.
    const dispatched = new Set<string>();
    const run = async (threads: number) => {
      const b = await wasmThreads(threads);
      b.setParallelMinBytes(0, 0);
      const orig = b.run.bind(b);
      b.run = (k, params, ins, outs) => {
        dispatched.add(k.name);
        orig(k, params, ins, outs);
      };
      const out = new Map<string, Float32Array>();
      const makers: [string, (ps: Tensor[]) => { step(c: () => Tensor): Promise<Tensor | null>; dispose?(): void }][] = [
        ['sgd', (ps) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 1e-3, nesterov: true })],
        ['adamw', (ps) => new optim.AdamW(ps, { lr: 1e-2, weightDecay: 0.1 })],
        ['adam', (ps) => new optim.Adam(ps, { lr: 1e-2, weightDecay: 0.1 })],
        ['pugd', (ps) => new optim.PUGD(ps, {})],
        ['sam', (ps) => new optim.SAM(ps, { rho: 0.05, momentum: 0.9 })],
        ['asam', (ps) => new optim.SAM(ps, { adaptive: true, momentum: 0.9 })],
        ['ugd', (ps) => new optim.UGD(ps, { lr: 0.1, momentum: 0.9 })],
      ];
      for (const [name, make] of makers) {
        const g = new Generator(21);
        const sizes = [10_007, 4096, 70];
        const ps = sizes.map((n) => tensor(Float32Array.from({ length: n }, () => g.normal()), [n], { requiresGrad: true }));
        const target = sizes.map((n) => tensor(Float32Array.from({ length: n }, () => g.normal()), [n]));
        const opt = make(ps);
        for (let step = 0; step < 3; step++) {
          const loss = await opt.step(() => {
            for (const p of ps) p.grad = null;
            const l = tidy(() => ps.map((p, i) => p.sub(target[i]).square().mul(p.relu().add(0.5)).sum()).reduce((a, c) => a.add(c)));
            l.backward();
            return l;
          });
          out.set(`${name} loss ${step}`, await loss!.toArray());
        }
        for (const [i, p] of ps.entries()) out.set(`${name} w${i}`, await p.toArray());
        opt.dispose?.();
        for (const t of [...ps, ...target]) t.dispose();
      }
      // The kernels no other suite here reaches: a copy (clone), the accuracy count and argmax.
      const g = new Generator(22);
      const z = tensor(Float32Array.from({ length: 70_000 }, () => g.normal()), [7000, 10]);
      const labels = Array.from({ length: 7000 }, () => g.int(10));
      const cl = z.clone();
      const cc = F.countCorrect(z, labels);
      out.set('clone', await cl.toArray());
      out.set('countCorrect', await cc.toArray());
      const am = z.argmax();
      out.set('argmax', Float32Array.from(await am.toArray()));
      for (const t of [z, cl, cc, am]) t.dispose();
      b.run = orig;
      b.setParallelMinBytes();
      return out;
    };
    const one = await run(1);
    expectSameBits('optimizers, 2 threads vs 1', one, await run(2));
    expectSameBits('optimizers, 3 threads vs 1', one, await run(3));
    // Coverage: the kernel suite above plus these steps reach every kernel the backends must implement,
    // so a new kernel family cannot miss this bitwise check unnoticed.
    const b = await wasmThreads(2);
    b.setParallelMinBytes(0, 0);
    const orig = b.run.bind(b);
    b.run = (k, params, ins, outs) => {
      dispatched.add(k.name);
      orig(k, params, ins, outs);
    };
    await suite(b);
    b.run = orig;
    b.setParallelMinBytes();
    const missing = Object.values(kernels).flat().map((k) => k.name).filter((n) => !dispatched.has(n));
    expect(missing, 'registry kernels never run by the thread suites: add them to suite() or to this test').toEqual([]);
  });

  it('a ResNet-20 training step gives the same bits on 1 and 2 threads', async () => {
    const run = async (threads: number) => {
      await wasmThreads(threads);
      const m = models.resnet20({ generator: new Generator(5) });
      const g = new Generator(6);
      const batch = 8;
      const x = on(getBackend(), Float32Array.from({ length: batch * 3 * 32 * 32 }, () => g.normal()), [batch, 3, 32, 32]);
      const labels = Array.from({ length: batch }, () => g.int(10));
      const losses: number[] = [];
      for (let step = 0; step < 2; step++) {
        const loss = tidy(() => F.crossEntropy(m.forward(x), labels));
        loss.backward();
        losses.push(await loss.item());
        loss.dispose();
        noGrad(() => {
          for (const p of m.parameters()) {
            const u = tidy(() => p.sub(p.grad!.mul(0.05)));
            p.assign(u);
            u.dispose();
            p.grad = null;
          }
        });
      }
      const state = new Map<string, Float32Array>([['losses', Float32Array.from(losses)]]);
      for (const [name, t] of Object.entries(m.stateDict())) state.set(name, await t.toArray());
      x.dispose();
      m.dispose();
      return state;
    };
    const one = await run(1);
    expect(Number.isFinite(one.get('losses')![1])).toBe(true);
    expectSameBits('ResNet-20, 2 threads vs 1', one, await run(2));
  });

  it('a kernel that traps in one share throws on the caller, naming thread and share, and the backend keeps working', async () => {
    const b = await wasmThreads(2);
    b.setParallelMinBytes(0, 0);
    const a = b.alloc(64 * 64 * 4, 'a');
    // An output whose first 32 rows (share 0) end exactly at the end of memory, so only share 1 (run
    // by the worker or, if it is late, by the caller) is out of bounds and traps.
    const end = (b as unknown as { memory: WebAssembly.Memory }).memory.buffer.byteLength;
    const bad = { bytes: 64 * 64 * 4, label: 'bad', ptr: end - 32 * 64 * 4, cls: 64, freed: false };
    const run = () => b.run(matmulKernel, { M: 64, K: 64, N: 64, transA: 0, transB: 0 }, [a, a], [bad]);
    expect(run).toThrow(/^wasm: matmul_fwd failed on (worker thread 1|the calling thread) \(share 1 of 2\): .*out of bounds/);
    b.setParallelMinBytes();
    b.free(a);
    const r = await suite(b);
    expect(r.size).toBeGreaterThan(0);
    expect(b.info.threads).toBe(2);
  });

  it('PUGD_THREADS picks the count; worker threads never keep Node alive', () => {
    const entry = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
    const script =
      `const p = await import(${JSON.stringify(entry)}); p.setBackendLogger(null); await p.setBackend('wasm');` +
      `const a = p.randn([300, 200]); const c = a.matmul(p.randn([200, 300]));` +
      `console.log(JSON.stringify({ info: p.getBackend().info, n: (await c.toArray()).length }));`;
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
    const r = run({ PUGD_THREADS: '3' });
    expect(r.error, 'the process must exit on its own (no hanging worker)').toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out.info.threads).toBe(3);
    expect(out.info.description).toBe('wasm (SIMD, 3 threads)');
    expect(out.n).toBe(90000);
    const bad = run({ PUGD_THREADS: 'many' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("PUGD_THREADS: threads must be an integer from 1 to 64, got 'many'");
  });
});
