// Kernel lab for the optim family (llm.c's dev/ habit, STYLE §2.11): runs wgsl/optim.wgsl on Dawn
// directly — without the engine's WebGPU backend — against the AssemblyScript twin on the engine's
// wasm backend, and times the optimizers' kernel sequences on Dawn.
//
//   validate: every kernel × sizes around the 4096-element chunk × flag combinations × two dispatch
//             shapes (the ideal one and a 3×2 grid that exercises the grid-stride loops); outputs
//             must match the wasm twin (reductions to 2e-6 relative, elementwise kernels to 1e-6).
//   time:     one PUGD step's and one SGD step's optimizer kernels (4K + 2 and K dispatches, one
//             submit) on ResNet-20's and ResNet-18's parameter sizes; JSON lines like optim.bench.mjs.
//
// Env: LAB_MODE=validate|time|phases (default validate). Run: node bench/run.mjs lab/optim_kernels (after npm
// run build; the runner sets up the adapter). The same kernel-level comparison runs in npm test
// (tests/webgpu/cross_backend.test.ts) and the optimizers run on webgpu in tests/optim/; this lab adds
// odd dispatch shapes, more sizes and flag combinations, and timings of whole kernel sequences.
import { performance } from 'node:perf_hooks';
import { create, globals } from 'webgpu';
import { getBackend, setBackend, setBackendLogger } from '../../engine/index.js';
import { optimKernels, normLayout } from '../../engine/ops/optim.js';
import type { KernelSpec } from '../../engine/kernel.js';
import type { Buf } from '../../engine/backend.js';
import { wgslSources } from '../../engine/generated/assets.js';
import { resnet18Shapes, resnet20Shapes } from '../optim_shapes.js';

Object.assign(globalThis, globals);
type Arr = Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer>;
type Geo = [number, number, number];
const K = (name: string) => optimKernels.find((k) => k.name === name)!;
const mode = process.env.LAB_MODE ?? 'validate';
const emit = (o: object) => console.log(JSON.stringify(o));

const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) throw new Error('optim_kernels lab: no WebGPU adapter (see the header for the Vulkan driver it needs)');
const device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
const src = wgslSources.optim; // wgsl/optim.wgsl as embedded by the build
const mod = device.createShaderModule({ code: src });
const info = await mod.getCompilationInfo();
for (const m of info.messages) console.error(`wgsl/optim.wgsl:${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`);
if (info.messages.some((m) => m.type === 'error')) process.exit(1);
const desc = `webgpu (dawn, ${adapter.info.vendor || '?'} / ${adapter.info.architecture || adapter.info.description || '?'})`;

const pipelines = new Map<string, GPUComputePipeline>();
function pipeline(k: KernelSpec, params: Record<string, number>): GPUComputePipeline {
  const constants: Record<string, number> = {};
  for (const c of k.constants ?? []) constants[c] = params[c];
  const key = `${k.name}:${JSON.stringify(constants)}`;
  let p = pipelines.get(key);
  if (!p) pipelines.set(key, (p = device.createComputePipeline({ layout: 'auto', compute: { module: mod, entryPoint: k.name, constants } })));
  return p;
}

function uniform(k: KernelSpec, params: Record<string, number>): GPUBuffer {
  const u = new ArrayBuffer(Math.max(16, Math.ceil((k.params.length * 4) / 16) * 16));
  const dv = new DataView(u);
  k.params.forEach(([name, type], i) => {
    const v = params[name];
    if (typeof v !== 'number') throw new Error(`${k.name}: missing param ${name}`);
    if (type === 'f32') dv.setFloat32(i * 4, v, true);
    else if (type === 'i32') dv.setInt32(i * 4, v, true);
    else dv.setUint32(i * 4, v, true);
  });
  const b = device.createBuffer({ size: u.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(b, 0, u);
  return b;
}

function storage(a: Arr | number): GPUBuffer {
  const bytes = typeof a === 'number' ? a : a.byteLength;
  const b = device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
  if (typeof a !== 'number') device.queue.writeBuffer(b, 0, a);
  return b;
}

interface Dispatch {
  k: KernelSpec;
  params: Record<string, number>;
  ins: GPUBuffer[];
  outs: GPUBuffer[];
  geo: Geo;
}

/** Encodes dispatches into one compute pass; bind groups and uniforms are built once per list. */
function prepare(ds: Dispatch[]): () => GPUCommandBuffer {
  const prepared = ds.map((d) => {
    const pipe = pipeline(d.k, d.params);
    const entries = [uniform(d.k, d.params), ...d.ins, ...d.outs].map((buffer, binding) => ({ binding, resource: { buffer } }));
    return { pipe, bg: device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries }), geo: d.geo };
  });
  return () => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (const p of prepared) {
      pass.setPipeline(p.pipe);
      pass.setBindGroup(0, p.bg);
      pass.dispatchWorkgroups(...p.geo);
    }
    pass.end();
    return enc.finish();
  };
}

async function readBack(b: GPUBuffer, like: Arr): Promise<Arr> {
  const r = device.createBuffer({ size: b.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(b, 0, r, 0, b.size);
  device.queue.submit([enc.finish()]);
  await r.mapAsync(GPUMapMode.READ);
  const ab = r.getMappedRange().slice(0, like.byteLength);
  r.unmap();
  r.destroy();
  return like instanceof Int32Array ? new Int32Array(ab) : new Float32Array(ab);
}

async function runGpu(k: KernelSpec, params: Record<string, number>, ins: Arr[], outs: Arr[], geo: Geo): Promise<Arr[]> {
  const ib = ins.map(storage);
  const ob = outs.map(storage);
  device.queue.submit([prepare([{ k, params, ins: ib, outs: ob, geo }])()]);
  const res = await Promise.all(ob.map((b, i) => readBack(b, outs[i])));
  for (const b of [...ib, ...ob]) b.destroy();
  return res;
}

setBackendLogger(null);
await setBackend('wasm');
const wasm = getBackend() as ReturnType<typeof getBackend> & { view(b: Buf): Uint8Array };
function runWasm(k: KernelSpec, params: Record<string, number>, ins: Arr[], outs: Arr[]): Arr[] {
  const alloc = (a: Arr) => {
    const b = wasm.alloc(a.byteLength, 'lab');
    wasm.upload(b, a);
    return b;
  };
  const ib = ins.map(alloc);
  const ob = outs.map(alloc);
  wasm.run(k, params, ib, ob);
  const res = ob.map((b, i) => {
    const u8 = wasm.view(b).slice();
    return outs[i] instanceof Int32Array ? new Int32Array(u8.buffer) : new Float32Array(u8.buffer);
  });
  for (const b of [...ib, ...ob]) wasm.free(b);
  return res;
}

async function validate(): Promise<number> {
  let seed = 1;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const rand = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rnd() * scale);
  let failures = 0;
  let checks = 0;
  const cmp = (label: string, a: Arr, b: Arr, rtol: number) => {
    checks++;
    let worst = 0;
    let at = -1;
    for (let i = 0; i < a.length; i++) {
      const err = Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-6);
      if (!(err <= worst)) {
        worst = err;
        at = i;
      }
    }
    if (!(worst <= rtol)) {
      failures++;
      console.error(`FAIL ${label}: worst relative error ${worst.toExponential(2)} at ${at} (webgpu ${a[at]}, wasm ${b[at]})`);
    }
  };
  const geos: [string, (n: number, per: number) => Geo][] = [
    ['ideal', (n, per) => [Math.max(1, Math.ceil(n / per)), 1, 1]], // per = 4096 (reductions) or 64
    ['3×2 grid-stride', () => [3, 2, 1]],
  ];
  const bad = Float32Array.of(1.5, 2.5, -1, 0.75); // norms; index 2 marks a bad step
  for (const n of [1, 5, 4096, 4097, 10000, 70000]) {
    const chunks = Math.ceil(n / 4096);
    const w = rand(n, 2), g = rand(n), g2 = rand(n), buf = rand(n), m = rand(n), v = Float32Array.from(rand(n), Math.abs);
    for (const [gname, geo] of geos) {
      const tag = `n=${n} ${gname}`;
      for (const [kname, ins] of [['optim_sumsq', [g]], ['optim_sumsq_wg', [w, g]], ['optim_sumsq_add', [g, g2]]] as [string, Arr[]][]) {
        const p = { n, slot: 3, eta: 0.01 };
        const outs = [new Float32Array(3 + chunks + 2)];
        cmp(`${kname} ${tag}`, (await runGpu(K(kname), p, ins, outs, geo(n, 4096)))[0], runWasm(K(kname), p, ins, outs)[0], 2e-6);
      }
      for (const [power, normIdx] of [[0, 0], [1, 0], [2, 3], [1, 2]]) {
        const p = { n, radius: 0.7, eta: power === 2 ? 0.01 : 0, eps: 1e-12, normIdx, power };
        const outs = [w, new Float32Array(n)];
        const a = await runGpu(K('optim_perturb'), p, [g, bad], outs, geo(n, 64));
        const b = runWasm(K('optim_perturb'), p, [g, bad], outs);
        cmp(`perturb power ${power} norm ${normIdx} w ${tag}`, a[0], b[0], 1e-6);
        cmp(`perturb power ${power} wsave ${tag}`, a[1], b[1], 0);
        if (normIdx === 2) cmp(`perturb on a bad step leaves w ${tag}`, a[0], w, 0);
      }
      for (const flags of [[1, 1, 1, 0, 1], [1, 1, 1, 1, 1], [0, 1, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 1, 1, 1]]) {
        for (const [first, normIdx] of [[0, 1], [1, 1], [1, 2]]) {
          const [sumGrads, normalize, restore, nesterov, hasMomentum] = flags;
          const p = { n, lr: 0.1, momentum: 0.9, oneMinusDampening: 0.8, weightDecay: 5e-4, eps: 1e-12, normIdx, guardIdx: 0, first, sumGrads, normalize, restore, nesterov, hasMomentum };
          const ins = [g, g2, m, bad];
          const outs = [w, buf];
          const a = await runGpu(K('optim_sgd_step'), p, ins, outs, geo(n, 64));
          const b = runWasm(K('optim_sgd_step'), p, ins, outs);
          cmp(`sgd ${flags} first=${first} norm=${normIdx} w ${tag}`, a[0], b[0], 1e-6);
          cmp(`sgd ${flags} first=${first} norm=${normIdx} buf ${tag}`, a[1], b[1], 1e-6);
        }
      }
      for (const [decoupled, restore, guard2Idx] of [[0, 0, 1], [1, 1, 1], [0, 1, 2]]) {
        const p = { n, stepSize: 0.01, oneMinusBeta1: 0.1, beta2: 0.999, oneMinusBeta2: 0.001, bc2Sqrt: 0.05, eps: 1e-8, weightDecay: 0.01, decay: 0.999, guardIdx: 0, guard2Idx, decoupled, restore };
        const ins = [g, buf, bad];
        const outs = [w, m, v];
        const a = await runGpu(K('optim_adam_step'), p, ins, outs, geo(n, 64));
        const b = runWasm(K('optim_adam_step'), p, ins, outs);
        a.forEach((x, i) => cmp(`adam decoupled=${decoupled} restore=${restore} guard2=${guard2Idx} output ${i} ${tag}`, x, b[i], 2e-6));
      }
    }
  }
  for (const count of [0, 1, 7, 300, 2731]) {
    const partials = Float32Array.from(rand(count + 5), (x) => Math.abs(x) * 100);
    const withInf = Float32Array.from(partials);
    if (count > 0) withInf[5 + count - 1] = Infinity;
    for (const [lname, loss, parts] of [['finite', 0.5, partials], ['NaN loss', NaN, partials], ['Inf loss', Infinity, partials], ['Inf partial', 1, withInf]] as const) {
      const p = { first: 5, count, out: 3, step: 7 };
      const ins = [parts, Float32Array.of(loss)];
      const outs = [new Float32Array(6), Int32Array.of(-1, -1, -1, -1)];
      for (const [gname, geo] of [['1 workgroup', [1, 1, 1]], ['2×2 workgroups', [2, 2, 1]]] as [string, Geo][]) {
        const a = await runGpu(K('optim_norm_finish'), p, ins, outs, geo);
        const b = runWasm(K('optim_norm_finish'), p, ins, outs);
        cmp(`finish count=${count} ${lname} norms ${gname}`, a[0], b[0], 1e-6);
        cmp(`finish count=${count} ${lname} status ${gname}`, a[1], b[1], 0);
      }
    }
  }
  emit({ lab: 'optim', mode: 'validate', device: desc, checks, failures });
  return failures;
}

/** The optimizer kernels of one PUGD (or SGD) step over tensors of `sizes`, in one submit. */
async function timeSteps(label: string, sizes: number[], steps: number): Promise<void> {
  const L = normLayout(sizes);
  const partials = storage(L.total * 4);
  const norms = storage(Float32Array.of(0, 0, 0, 0));
  const status = storage(Int32Array.of(-1, -1, -1, -1));
  const loss = storage(Float32Array.of(1));
  const t = sizes.map((n) => ({ w: storage(n * 4), g1: storage(n * 4), g2: storage(n * 4), ws: storage(n * 4), buf: storage(n * 4) }));
  for (const [k, n] of sizes.entries()) {
    const r = Float32Array.from({ length: n }, (_, i) => Math.sin(i + k) * 0.01);
    for (const b of [t[k].w, t[k].g1, t[k].g2, t[k].buf]) device.queue.writeBuffer(b, 0, r);
  }
  const el = (n: number): Geo => {
    const g = Math.ceil(n / 64); // @workgroup_size(64), spread over y above 65535 (the engine's grid1)
    return g <= 65535 ? [g, 1, 1] : [32768, Math.ceil(g / 32768), 1];
  };
  const red = (n: number): Geo => [Math.ceil(n / 4096), 1, 1];
  const sgdP = (n: number, sumGrads: number, normalize: number, restore: number) => ({
    n, lr: 0.1, momentum: 0.9, oneMinusDampening: 1, weightDecay: 5e-4, eps: 1e-12, normIdx: 1, guardIdx: 0, first: 0, sumGrads, normalize, restore, nesterov: 0, hasMomentum: 1,
  });
  const pugd: Dispatch[] = [
    ...sizes.map((n, k) => ({ k: K('optim_sumsq_wg'), params: { n, slot: L.offsets[k], eta: 0 }, ins: [t[k].w, t[k].g1], outs: [partials], geo: red(n) })),
    { k: K('optim_norm_finish'), params: { first: 0, count: L.total, out: 0, step: 1 }, ins: [partials, loss], outs: [norms, status], geo: [1, 1, 1] },
    ...sizes.map((n, k) => ({ k: K('optim_perturb'), params: { n, radius: 1, eta: 0, eps: 1e-12, normIdx: 0, power: 1 }, ins: [t[k].g1, norms], outs: [t[k].w, t[k].ws], geo: el(n) })),
    ...sizes.map((n, k) => ({ k: K('optim_sumsq_add'), params: { n, slot: L.offsets[k] }, ins: [t[k].g1, t[k].g2], outs: [partials], geo: red(n) })),
    { k: K('optim_norm_finish'), params: { first: 0, count: L.total, out: 1, step: 1 }, ins: [partials, loss], outs: [norms, status], geo: [1, 1, 1] },
    ...sizes.map((n, k) => ({ k: K('optim_sgd_step'), params: sgdP(n, 1, 1, 1), ins: [t[k].g1, t[k].g2, t[k].ws, norms], outs: [t[k].w, t[k].buf], geo: el(n) })),
  ];
  const sgd: Dispatch[] = [
    { k: K('optim_norm_finish'), params: { first: 0, count: 0, out: 0, step: 1 }, ins: [partials, loss], outs: [norms, status], geo: [1, 1, 1] },
    ...sizes.map((n, k) => ({ k: K('optim_sgd_step'), params: { ...sgdP(n, 0, 0, 0), normIdx: 0 }, ins: [t[k].g2, t[k].g2, t[k].g2, norms], outs: [t[k].w, t[k].buf], geo: el(n) })),
  ];
  const T = sizes.length;
  // LAB_MODE=phases: also each phase of the PUGD step alone (which kernels cost what on this adapter).
  const phases: [string, Dispatch[]][] = mode !== 'phases' ? [] : [
    ['PUGD phase: sum of squares of |w|⊙g1', pugd.slice(0, T)], ['PUGD phase: finish', [pugd[T]]], ['PUGD phase: perturb', pugd.slice(T + 1, 2 * T + 1)],
    ['PUGD phase: sum of squares of g1+g2', pugd.slice(2 * T + 1, 3 * T + 1)], ['PUGD phase: fused update', pugd.slice(3 * T + 2)],
  ];
  for (const [name, ds] of [['PUGD', pugd], ['SGD', sgd], ...phases] as const) {
    const encode = prepare(ds);
    device.queue.submit([encode()]);
    await device.queue.onSubmittedWorkDone();
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      device.queue.submit([encode()]);
      await device.queue.onSubmittedWorkDone();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const n = sizes.reduce((a, b) => a + b, 0);
    emit({ bench: 'optimizer-only', backend: 'webgpu (dawn, kernels only)', device: desc, params: label, numParams: n, tensors: sizes.length, optimizer: name, msPerStep: +times[Math.floor(steps / 2)].toFixed(3), dispatchesPerStep: ds.length, steps });
  }
  for (const b of [partials, norms, status, loss, ...t.flatMap((x) => Object.values(x))]) b.destroy();
}

let code = 0;
if (mode === 'validate') code = (await validate()) > 0 ? 1 : 0;
else if (mode === 'time' || mode === 'phases') {
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  await timeSteps('resnet20', resnet20Shapes().map(size), 10);
  await timeSteps('resnet18', resnet18Shapes().map(size), 3);
} else throw new Error(`optim_kernels lab: unknown LAB_MODE '${mode}' (validate | time | phases)`);
device.destroy();
process.exit(code);
