// The WebGPU backend: the kernels of wgsl/ on `navigator.gpu` (browsers) or Dawn's `webgpu` package
// (Node), behind the Backend interface of engine/backend.ts.
//
// Mechanics (why each exists):
// - Buffer pool: device buffers are rounded to size classes (as the WASM allocator: 4 classes per power
//   of two) and reused. A freed buffer goes to a pending list and joins the pool only when the batch of
//   commands that may still use it has been submitted: a later queue.writeBuffer() or dispatch is then
//   ordered after every use (queue order), while reusing it inside the unsubmitted batch would not be.
// - Pipeline cache keyed by entry point + override constants, never by shape: shapes travel in the
//   params uniform, so a training loop compiles each pipeline once.
// - Batched submission: dispatches are recorded into one compute pass; the batch is submitted every
//   BATCH passes, on read(), sync() and before an upload into a buffer the batch uses. Params of every
//   dispatch in a batch live in 256-byte slots of a few 64 KiB uniform buffers, written once per submit.
// - No readback except read() (Tensor.toArray): forward, backward and optimizer updates only enqueue.
// - Never one buffer bound read-only and writable in one dispatch: run() refuses it, naming the kernel.
// - Errors: WGSL compile errors name the family, its kernels and the compiler message with line and
//   column; pipeline/dispatch validation errors, out-of-memory and device loss are captured (error
//   scopes, uncapturederror, device.lost) and thrown from the next call with the kernel or buffer named.
//   A read() racing a lost device rejects instead of hanging.
//
// Debug (PUGD_DEBUG, or setWebGpuDebug): 1 adapter and limits; 2 one line per dispatch; 3 plus params;
// 4 plus the WGSL of each module when first compiled.
//
// Profiling (setBackend('webgpu', { profile: true }) or PUGD_PROFILE=1; engine/profiler.ts): the host
// time of each run() (encoding), and with `timestamp-query` (requested at device creation only when
// profiling) each pass becomes its own compute pass with timestampWrites; a batch's timestamps are
// resolved into a buffer and copied to a staging buffer at submit, whose mapAsync is not awaited, so
// no dispatch waits: the times arrive a batch later (sync() waits for them). In Node the Dawn flag
// `disable-dawn-features=timestamp_quantization` is added when Dawn first starts, so timestamps are
// exact; Dawn starts once per process, so a profile asked for after that keeps its flags (quantized
// timestamps, said in the report). That flag never counts as a conflict between flag sets.
//
// Not handled: f16, subgroups, multiple devices.

/// <reference types="@webgpu/types" preserve="true" />
import type { Backend, BackendCounters, BackendInfo, BackendOptions, Buf } from '../backend.js';
import { dropBackend, registerBackend } from '../backend.js';
import type { KernelSpec } from '../kernel.js';
import { helperKernels, kernels, launchPlans, launchTiles } from '../ops/index.js';
import { perElement, tileConstantsWgsl, type Pass, type Variant } from '../ops/launch.js';
import { wgslSources } from '../generated/assets.js';
import { Profiler, envProfile } from '../profiler.js';

interface GpuBuf extends Buf {
  readonly gpu: GPUBuffer;
  readonly cls: number;
  freed: boolean;
  /** Index of the last batch that bound it. */
  lastBatch: number;
}

export interface WebGpuOptions {
  /** Kernel variant: 'regs' (barrier-free) or 'tiled' (workgroup memory); default by adapter. */
  variant?: Variant;
  powerPreference?: GPUPowerPreference;
  /** A GPU object to use instead of navigator.gpu / the `webgpu` package. */
  gpu?: GPU;
  /** Flags for dawn.node's create() (Node only; see BackendOptions.dawnFlags). */
  dawnFlags?: string[];
  /** Profile kernels (see BackendOptions.profile); default PUGD_PROFILE=1. */
  profile?: boolean;
}

// GPUBufferUsage / GPUMapMode values (WebGPU spec): dawn.node does not put those globals on globalThis.
const USAGE = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128, QUERY_RESOLVE: 512 } as const;
const MAP_READ = 1;

const BATCH = 128;
const SLOT = 256;
const CHUNK = 65536;
const PARAM_LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxStorageBuffersPerShaderStage', 'maxComputeInvocationsPerWorkgroup'] as const;

let debugLevel = (() => {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = Number(env?.PUGD_DEBUG ?? 0);
  return Number.isFinite(v) ? v : 0;
})();

/** Sets the WebGPU debug level (PUGD_DEBUG in Node): 1 adapter, 2 dispatches, 3 params, 4 WGSL. */
export function setWebGpuDebug(level: number): void {
  debugLevel = level;
}

function dbg(level: number, line: string): void {
  if (debugLevel >= level) console.error(`pugd webgpu: ${line}`);
}

/** Size classes: multiples of 256 B up to 4 KiB, then 4 classes per power of two. */
export function gpuSizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  if (bytes <= 4096) return Math.ceil(bytes / 256) * 256;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = p / 4;
  return Math.ceil(bytes / step) * step;
}

function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

const HOW_TO_GET_AN_ADAPTER =
  'On Linux without a GPU, pugd runs WebGPU on SwiftShader (a CPU renderer), which it finds in the npm package ' +
  "@sparticuz/chromium (`npm install @sparticuz/chromium` in your project; a clone of pugd has it as a devDependency) " +
  "or in Debian's `chromium` package (/usr/lib/chromium). The process that opens the GPU must start with VK_ICD_FILENAMES and " +
  "LD_LIBRARY_PATH pointing at it: call ensureSoftwareAdapterEnv() from 'pugd' first thing in your script (it re-runs the " +
  "script with them set), as the pugd command and `npm test` do. setBackend('wasm') needs no GPU. " +
  'With a GPU, install its Vulkan driver (and libvulkan1). In a browser, use one with WebGPU enabled (Chrome ≥ 113).';

/** The GPU object: navigator.gpu in browsers, Dawn's `webgpu` package in Node. */
let dawnGpu: GPU | null = null;
/** The flags the process's Dawn instance was created with. */
let dawnFlagsUsed: string[] = [];

/** The Dawn flags asked for: the option, else PUGD_DAWN_FLAGS (whitespace-separated), else none. */
export function requestedDawnFlags(given: readonly string[] | undefined): string[] {
  if (given !== undefined) {
    if (!Array.isArray(given) || given.some((f) => typeof f !== 'string' || f.trim() === '' || /\s/.test(f))) {
      throw new Error(`webgpu: dawnFlags must be an array of non-empty strings without spaces (e.g. ['disable-dawn-features=timestamp_quantization']), got ${JSON.stringify(given)}`);
    }
    return [...given];
  }
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.PUGD_DAWN_FLAGS;
  return env ? env.split(/\s+/).filter(Boolean) : [];
}

/** Dawn flag that makes timestamps exact; added when profiling (see the header). */
export const EXACT_TIMESTAMPS_FLAG = 'disable-dawn-features=timestamp_quantization';
const withoutTs = (a: readonly string[]) => a.filter((f) => f !== EXACT_TIMESTAMPS_FLAG);
const sameFlags = (a: readonly string[], b: readonly string[]) => {
  const x = withoutTs(a);
  const y = withoutTs(b);
  return x.length === y.length && x.every((f, i) => f === y[i]);
};
const flagsConflict = (have: readonly string[], want: readonly string[]) =>
  new Error(`webgpu: Dawn already runs in this process with flags [${have.join(' ')}]; it cannot be restarted with [${want.join(' ')}] (one Dawn instance per process: give the flags before WebGPU first starts, or set PUGD_DAWN_FLAGS)`);

async function getGpu(flags: string[], profile: boolean): Promise<{ gpu: GPU; source: string; dawnFlags?: string[] }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, source: 'navigator.gpu' };
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (proc?.versions?.node) {
    let mod: { create: (flags: string[]) => GPU };
    try {
      const name = 'webgpu';
      mod = (await import(/* @vite-ignore */ name)) as typeof mod;
    } catch (e) {
      throw new Error(`webgpu: could not load the 'webgpu' package (Dawn for Node): ${(e as Error).message}`);
    }
    // One Dawn instance for the life of the process. Garbage-collecting an instance whose devices were
    // destroyed crashes natively now and then (SIGSEGV, or std::system_error from a SwiftShader thread),
    // so backends share this one and never drop it. Holding it does not keep Node alive: only a live
    // device does, and dispose() destroys the device. Its flags are therefore the process's.
    if (dawnGpu && !sameFlags(flags, dawnFlagsUsed)) {
      throw flagsConflict(dawnFlagsUsed, flags);
    }
    if (!dawnGpu) {
      if (profile && !flags.includes(EXACT_TIMESTAMPS_FLAG)) flags = [...flags, EXACT_TIMESTAMPS_FLAG];
      dawnGpu = mod.create(flags);
      dawnFlagsUsed = [...flags];
    }
    return { gpu: dawnGpu, source: "Dawn ('webgpu' package)", dawnFlags: [...dawnFlagsUsed] };
  }
  throw new Error(`webgpu: this environment has no WebGPU (no navigator.gpu). ${HOW_TO_GET_AN_ADAPTER}`);
}

// ---- process exit (Node) ---------------------------------------------------------------------------
//
// A Node process that ends while a device still has queued work can crash in exit(3): the C runtime
// runs static destructors (SwiftShader's among the first) while SwiftShader's queue thread is still
// executing the last submitted command buffer, and that thread faults in marl::Scheduler::enqueue on a
// null scheduler (SIGSEGV; core dumps in docs/WEBGPU.md, "Exiting"). Destroying the device first makes
// Dawn wait for the queue to drain and SwiftShader end its queue and worker threads, after which exit
// has nothing left to race. So every live backend is disposed from process 'exit', which Node emits synchronously before
// exit(3) on every path that reaches it: the end of the event loop, process.exit(n), an uncaught
// exception or unhandled rejection, and a signal handler that calls process.exit. A signal left to its
// default action (SIGINT, SIGTERM without listeners) kills the process in the kernel, with no
// destructors run, so it needs nothing and the engine installs no signal handler.

/** Backends whose device has not been destroyed by dispose(). */
const liveBackends = new Set<WebGpuBackend>();
let exitTeardownInstalled = false;

function installExitTeardown(): void {
  const proc = (globalThis as { process?: { versions?: { node?: string }; on?: (ev: 'exit', fn: () => void) => void } }).process;
  if (exitTeardownInstalled || !proc?.versions?.node || typeof proc.on !== 'function') return;
  exitTeardownInstalled = true;
  proc.on('exit', disposeLiveBackends);
}

/** Disposes every live WebGPU backend (device destroyed after its queue drained). Synchronous. */
function disposeLiveBackends(): void {
  for (const b of [...liveBackends]) {
    try {
      b.dispose();
    } catch (e) {
      // A teardown error must not replace the exit code the program chose; say it and go on.
      dbg(1, `dispose at exit failed: ${(e as Error).message}`);
    }
  }
}

/** Timestamp state of one profiled device: a query set and resolve buffer per batch (reused in queue order). */
interface Timestamps {
  set: GPUQuerySet;
  resolve: GPUBuffer;
  /** Unmapped staging buffers for the resolved timestamps. */
  free: GPUBuffer[];
  /** Kernel, entry point and step of each pass of the batch being recorded. */
  names: string[];
  entries: string[];
  steps: number[];
  /** Readbacks in flight (sync() waits for them). */
  pending: Set<Promise<void>>;
}

interface UniformChunk {
  buf: GPUBuffer;
  data: ArrayBuffer;
  used: number;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly info: BackendInfo;
  readonly counters: BackendCounters = { dispatches: 0, readbacks: 0, liveBytes: 0, liveBuffers: 0, peakBytes: 0, submits: 0, pipelines: 0 };
  /** Kernel variant for matmul and conv2d (see engine/ops/launch.ts); tests switch it to cover both. */
  variant: Variant;
  readonly isFallbackAdapter: boolean;

  private gpu: GPU | null;
  private device: GPUDevice;
  private readonly limits: Record<string, number>;
  private readonly specs = new Map<string, KernelSpec>();
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pendingFree: GpuBuf[] = [];
  private readonly stagingPool = new Map<number, GPUBuffer[]>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private passes = 0;
  private batch = 0;
  private readonly chunks: UniformChunk[] = [];
  private chunkIdx = 0;
  private error: Error | null = null;
  private lost: string | null = null;
  private lostPromise: Promise<never>;
  private disposed = false;
  /** The profiler while profiling is on; `ts` is set when it has GPU timestamps. */
  profiler: Profiler | null = null;
  private ts: Timestamps | null = null;
  /** Host ms spent in flush() while profiling (taken out of the kernel whose run() flushed). */
  private flushMs = 0;

  private constructor(gpu: GPU, adapter: GPUAdapter, device: GPUDevice, source: string, opts: WebGpuOptions) {
    this.gpu = gpu;
    this.device = device;
    const ai = adapter.info;
    this.isFallbackAdapter = !!(ai.isFallbackAdapter ?? (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter);
    const envVariant = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.PUGD_WEBGPU_VARIANT;
    this.variant = opts.variant ?? (envVariant === 'regs' || envVariant === 'tiled' ? envVariant : this.isFallbackAdapter ? 'regs' : 'tiled');
    this.limits = {};
    for (const k of Object.keys(Object.getOwnPropertyDescriptors(Object.getPrototypeOf(device.limits)))) {
      const v = (device.limits as unknown as Record<string, unknown>)[k];
      if (typeof v === 'number') this.limits[k] = v;
    }
    const adapterDesc = `${ai.vendor || 'unknown vendor'} / ${ai.architecture || 'unknown architecture'}`;
    this.info = {
      name: 'webgpu',
      description: `webgpu (${adapterDesc}${this.isFallbackAdapter ? ', fallback adapter' : ''}; ${source}; ${this.variant} kernels)`,
      threads: 1,
      adapter: { vendor: ai.vendor, architecture: ai.architecture, device: ai.device, description: ai.description, isFallbackAdapter: this.isFallbackAdapter },
      limits: { ...this.limits },
      features: [...adapter.features].sort(),
    };
    for (const list of [...Object.values(kernels), ...Object.values(helperKernels)]) for (const k of list) this.specs.set(k.name, k);

    liveBackends.add(this);
    installExitTeardown();
    this.lostPromise = device.lost.then((info) => {
      this.lost = `${info.reason}${info.message ? `: ${info.message}` : ''}`;
      if (!this.disposed) {
        dbg(1, `device lost (${this.lost})`);
        dropBackend('webgpu', this);
      }
      throw this.lostError();
    });
    this.lostPromise.catch(() => {});
    const onError = (ev: Event) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.record(new Error(`webgpu: ${err?.constructor?.name ?? 'GPU error'}: ${err?.message ?? String(ev)}`));
    };
    if (typeof device.addEventListener === 'function') device.addEventListener('uncapturederror', onError);
    else (device as unknown as { onuncapturederror: unknown }).onuncapturederror = onError;
  }

  /** setBackend options on a running backend: Dawn's flags cannot change (one Dawn per process). */
  async configure(opts: BackendOptions): Promise<void> {
    if (opts.profile !== undefined && opts.profile !== !!this.profiler) this.setProfile(opts.profile);
    if (opts.dawnFlags === undefined || this.info.dawnFlags === undefined) return;
    const want = requestedDawnFlags(opts.dawnFlags);
    if (!sameFlags(want, this.info.dawnFlags)) {
      throw flagsConflict(this.info.dawnFlags, want);
    }
  }

  /** Opens the preferred adapter (high-performance) and a device with the adapter's larger limits. */
  static async create(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
    const profile = opts.profile ?? envProfile();
    const { gpu, source, dawnFlags } = opts.gpu ? { gpu: opts.gpu, source: 'given GPU object', dawnFlags: undefined } : await getGpu(requestedDawnFlags(opts.dawnFlags), profile);
    const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
    if (!adapter) throw new Error(`webgpu: no WebGPU adapter found (${source}). ${HOW_TO_GET_AN_ADAPTER}`);
    const requiredLimits: Record<string, number> = {};
    for (const k of PARAM_LIMITS) {
      const v = (adapter.limits as unknown as Record<string, number>)[k];
      if (typeof v === 'number') requiredLimits[k] = v;
    }
    let device: GPUDevice;
    try {
      const requiredFeatures: GPUFeatureName[] = profile && adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
      device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'pugd' });
    } catch (e) {
      throw new Error(`webgpu: the adapter refused a device (${adapter.info.vendor}/${adapter.info.architecture}): ${(e as Error).message}`);
    }
    const b = new WebGpuBackend(gpu, adapter, device, source, opts);
    if (dawnFlags) b.info.dawnFlags = dawnFlags;
    if (profile) b.setProfile(true);
    await b.compileAll();
    dbg(1, `${b.info.description}; limits ${PARAM_LIMITS.map((k) => `${k}=${b.limits[k]}`).join(' ')}`);
    return b;
  }

  /** Starts (fresh numbers) or stops profiling; GPU timestamps only where the device has the feature. */
  private setProfile(on: boolean): void {
    this.flush();
    this.destroyTimestamps();
    this.profiler = null;
    if (!on) return;
    let note: string | undefined;
    if (!this.device.features.has('timestamp-query')) {
      note = this.info.features?.includes('timestamp-query')
        ? 'the device was created without profiling, so without timestamp-query: give profile: true (or PUGD_PROFILE=1) to the first setBackend'
        : 'the adapter has no timestamp-query';
    } else {
      if (this.info.dawnFlags && !this.info.dawnFlags.includes(EXACT_TIMESTAMPS_FLAG)) {
        note = `Dawn started before profiling without ${EXACT_TIMESTAMPS_FLAG}: GPU times are quantized`;
      }
      this.ts = {
        set: this.device.createQuerySet({ type: 'timestamp', count: 2 * BATCH, label: 'pugd profile' }),
        resolve: this.device.createBuffer({ size: 16 * BATCH, usage: USAGE.QUERY_RESOLVE | USAGE.COPY_SRC, label: 'pugd profile resolve' }),
        free: [],
        names: [],
        entries: [],
        steps: [],
        pending: new Set(),
      };
    }
    this.profiler = new Profiler(this.ts !== null, note);
  }

  private destroyTimestamps(): void {
    if (!this.ts) return;
    this.ts.set.destroy();
    this.ts.resolve.destroy();
    for (const g of this.ts.free) g.destroy();
    this.ts = null;
  }

  // ---- shader modules and pipelines -------------------------------------------------------------

  /** Compiles every family's module up front, so WGSL errors surface at setBackend, naming the kernels. */
  private async compileAll(): Promise<void> {
    const families = new Set<string>([...Object.keys(kernels), ...Object.keys(helperKernels)]);
    // A family without WGSL (a kernel family added to the registry before its WebGPU twin) fails only
    // when one of its kernels runs, with a message naming it; tests/wgsl/compile.test.ts flags it.
    await Promise.all([...families].filter((f) => wgslSources[f] !== undefined).map((f) => this.compileFamily(f)));
  }

  /**
   * Compiles `source` (or wgsl/<family>.wgsl) with the common prelude and the family's tile constants
   * (engine/ops/launch.ts; read when compiling, so the kernel lab can swap them); throws naming
   * family, kernels, line.
   */
  async compileFamily(family: string, source?: string): Promise<GPUShaderModule> {
    const body = source ?? wgslSources[family];
    if (body === undefined) throw new Error(`webgpu: no wgsl/${family}.wgsl in this build (rebuild with npm run build)`);
    const tiles = tileConstantsWgsl(launchTiles[family] ?? {});
    const prelude = (wgslSources.common ?? '') + (tiles ? `\n${tiles.replace(/\n$/, '')}` : '');
    const code = `${prelude}\n${body}`;
    const preludeLines = prelude.split('\n').length;
    const names = [...(kernels[family] ?? []), ...(helperKernels[family] ?? [])].map((k) => k.name);
    dbg(4, `module ${family}.wgsl:\n${body}`);
    // Push and pop around the one call, synchronously: scopes are a per-device stack, and families
    // compile concurrently.
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: `${family}.wgsl` });
    const scope = this.device.popErrorScope();
    const [info, scopeErr] = await Promise.all([module.getCompilationInfo(), scope]);
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length || scopeErr) {
      const lines = errors.map((m) => {
        const line = m.lineNum > preludeLines ? `${family}.wgsl:${m.lineNum - preludeLines}` : `common.wgsl:${m.lineNum}`;
        return `  ${line}:${m.linePos}: ${m.message}`;
      });
      throw new Error(
        `webgpu: WGSL of family '${family}' (kernels ${names.join(', ') || 'none'}) failed to compile:\n${lines.join('\n') || `  ${scopeErr?.message}`}`,
      );
    }
    if (source === undefined) this.modules.set(family, module);
    return module;
  }

  /**
   * @internal Kernel lab (bench/lab/): replaces a family's module with `source` (same entry points and
   * params contract) and forgets its pipelines, so variants can be timed side by side in one process.
   */
  async replaceFamilySource(family: string, source: string): Promise<void> {
    this.flush();
    const module = await this.compileFamily(family, source);
    this.modules.set(family, module);
    for (const key of [...this.pipelines.keys()]) {
      const entry = key.split('|')[0];
      if (this.specs.get(entry)?.family === family) this.pipelines.delete(key);
    }
  }

  private pipelineFor(p: Pass): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    const ckeys = Object.keys(p.constants).sort();
    const key = `${p.entry}|${ckeys.map((k) => `${k}=${p.constants[k]}`).join(',')}`;
    let hit = this.pipelines.get(key);
    if (hit) return hit;
    const module = this.modules.get(p.family);
    if (!module) {
      throw new Error(
        wgslSources[p.family] === undefined
          ? `webgpu: kernel '${p.entry}' has no WebGPU implementation: wgsl/${p.family}.wgsl is missing from this build (add it, named as assembly/${p.family}.ts; see docs/WEBGPU.md)`
          : `webgpu: kernel '${p.entry}' needs wgsl/${p.family}.wgsl, which was not compiled`,
      );
    }
    this.device.pushErrorScope('validation');
    const pipeline = this.device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module, entryPoint: p.entry, constants: p.constants },
    });
    this.device.popErrorScope().then((e) => {
      if (e) this.record(new Error(`webgpu: pipeline for kernel '${p.entry}' (${p.family}.wgsl, constants {${ckeys.map((k) => `${k}: ${p.constants[k]}`).join(', ')}}) is invalid: ${e.message}`));
    }, () => {});
    hit = { pipeline, layout: pipeline.getBindGroupLayout(0) };
    this.pipelines.set(key, hit);
    this.counters.pipelines++;
    dbg(2, `pipeline ${key}`);
    return hit;
  }

  // ---- memory --------------------------------------------------------------------------------------

  alloc(bytes: number, label: string): Buf {
    this.check();
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`webgpu: invalid allocation size ${bytes} for ${label}`);
    const cls = gpuSizeClass(bytes);
    const maxBind = Math.min(this.limits.maxStorageBufferBindingSize ?? Infinity, this.limits.maxBufferSize ?? Infinity);
    if (cls > maxBind) {
      throw new Error(
        `webgpu: out of memory: cannot allocate ${fmtBytes(bytes)} for ${label}: the adapter's largest storage buffer is ${fmtBytes(maxBind)} (maxStorageBufferBindingSize/maxBufferSize)`,
      );
    }
    let gpu = this.pool.get(cls)?.pop();
    if (!gpu) {
      this.device.pushErrorScope('out-of-memory');
      gpu = this.device.createBuffer({ size: cls, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST, label });
      this.device.popErrorScope().then((e) => {
        if (e) this.record(new Error(`webgpu: out of memory allocating ${fmtBytes(bytes)} for ${label} (${fmtBytes(this.counters.liveBytes)} live): ${e.message}`));
      }, () => {});
    }
    this.counters.liveBytes += bytes;
    this.counters.liveBuffers++;
    if (this.counters.liveBytes > this.counters.peakBytes) this.counters.peakBytes = this.counters.liveBytes;
    const b: GpuBuf = { bytes, label, gpu, cls, freed: false, lastBatch: -1 };
    return b;
  }

  free(buf: Buf): void {
    const b = buf as GpuBuf;
    if (b.freed) throw new Error(`webgpu: buffer '${b.label}' freed twice (engine bug)`);
    b.freed = true;
    this.counters.liveBytes -= b.bytes;
    this.counters.liveBuffers--;
    if (this.disposed) return;
    // Queued work may still read it: it becomes reusable once that work is submitted.
    if (b.lastBatch === this.batch && this.passes > 0) this.pendingFree.push(b);
    else this.toPool(b.cls, b.gpu);
  }

  private toPool(cls: number, gpu: GPUBuffer): void {
    let list = this.pool.get(cls);
    if (!list) this.pool.set(cls, (list = []));
    list.push(gpu);
  }

  upload(buf: Buf, data: Float32Array | Int32Array | Uint8Array): void {
    this.check();
    const b = buf as GpuBuf;
    if (data.byteLength > b.bytes) throw new Error(`webgpu: upload of ${data.byteLength} bytes into '${b.label}' (${b.bytes} bytes)`);
    if (data.byteLength === 0) return;
    // writeBuffer is ordered before the unsubmitted batch; if the batch already uses this buffer, the
    // upload must come after it.
    if (b.lastBatch === this.batch && this.passes > 0) this.flush();
    let src: Uint8Array = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (src.byteLength % 4 !== 0) {
      const padded = new Uint8Array(Math.ceil(src.byteLength / 4) * 4);
      padded.set(src);
      src = padded;
    }
    this.device.queue.writeBuffer(b.gpu, 0, src.buffer, src.byteOffset, src.byteLength);
  }

  // ---- dispatch ------------------------------------------------------------------------------------

  run(k: KernelSpec, params: Record<string, number>, inputs: readonly Buf[], outputs: readonly Buf[]): void {
    this.check();
    if (inputs.length !== k.inputs.length || outputs.length !== k.outputs.length) {
      throw new Error(`webgpu: ${k.name} takes ${k.inputs.length} inputs and ${k.outputs.length} outputs, got ${inputs.length} and ${outputs.length}`);
    }
    for (const [p] of k.params) {
      if (typeof params[p] !== 'number') throw new Error(`webgpu: ${k.name} is missing param '${p}'`);
    }
    for (let i = 0; i < outputs.length; i++) {
      const j = inputs.indexOf(outputs[i]);
      if (j >= 0) {
        throw new Error(
          `webgpu: ${k.name} would bind buffer '${outputs[i].label}' as input '${k.inputs[j]}' (read-only) and output '${k.outputs[i]}' (writable) in one dispatch; WebGPU forbids it (use a separate output)`,
        );
      }
      if (outputs.indexOf(outputs[i]) !== i) throw new Error(`webgpu: ${k.name} binds buffer '${outputs[i].label}' as two outputs`);
    }
    for (const b of [...inputs, ...outputs]) if ((b as GpuBuf).freed) throw new Error(`webgpu: ${k.name} uses buffer '${b.label}' after it was freed (engine bug)`);
    const t0 = this.profiler ? performance.now() - this.flushMs : 0;
    const scratch: GpuBuf[] = [];
    const plan = launchPlans[k.name] ?? perElement;
    const passes = plan(
      {
        variant: this.variant,
        scratch: (bytes, label) => {
          const s = this.alloc(bytes, label) as GpuBuf;
          scratch.push(s);
          return s;
        },
      },
      k, params, inputs, outputs,
    );
    this.counters.dispatches++;
    for (const p of passes) this.encode(p, k.name);
    for (const s of scratch) this.free(s);
    if (this.profiler) this.profiler.cpu(k.name, performance.now() - this.flushMs - t0);
  }

  private encode(p: Pass, kernelName: string): void {
    const { pipeline, layout } = this.pipelineFor(p);
    if (!this.encoder) {
      this.encoder = this.device.createCommandEncoder({ label: `pugd batch ${this.batch}` });
      if (!this.ts) this.pass = this.encoder.beginComputePass({ label: `pugd batch ${this.batch}` });
    }
    if (this.ts) {
      // Profiling with timestamps: one compute pass per pass of a kernel, timed at its start and end.
      const i = this.ts.names.length;
      this.ts.names.push(kernelName);
      this.ts.entries.push(p.entry);
      this.ts.steps.push(this.profiler!.stepIndex);
      this.pass = this.encoder.beginComputePass({
        label: p.entry,
        timestampWrites: { querySet: this.ts.set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
      });
    }
    // Params into the next 256-byte uniform slot, typed as the spec declares.
    let chunk = this.chunks[this.chunkIdx];
    if (!chunk || chunk.used + SLOT > CHUNK) {
      if (chunk) this.chunkIdx++;
      chunk = this.chunks[this.chunkIdx];
      if (!chunk) {
        chunk = {
          buf: this.device.createBuffer({ size: CHUNK, usage: USAGE.UNIFORM | USAGE.COPY_DST, label: `pugd params ${this.chunkIdx}` }),
          data: new ArrayBuffer(CHUNK),
          used: 0,
        };
        this.chunks.push(chunk);
      }
    }
    const off = chunk.used;
    const nparams = Math.max(1, p.spec.params.length);
    const dv = new DataView(chunk.data, off, nparams * 4);
    p.spec.params.forEach(([name, type], i) => {
      const v = p.params[name];
      if (type === 'f32') dv.setFloat32(i * 4, v, true);
      else if (type === 'i32') dv.setInt32(i * 4, v, true);
      else dv.setUint32(i * 4, v, true);
    });
    chunk.used += SLOT;
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: chunk.buf, offset: off, size: Math.ceil((nparams * 4) / 16) * 16 } }];
    p.buffers.forEach((b, i) => {
      const g = b as GpuBuf;
      g.lastBatch = this.batch;
      entries.push({ binding: i + 1, resource: { buffer: g.gpu } });
    });
    const bindGroup = this.device.createBindGroup({ layout, entries, label: p.entry });
    this.pass!.setPipeline(pipeline);
    this.pass!.setBindGroup(0, bindGroup);
    this.pass!.dispatchWorkgroups(p.workgroups[0], p.workgroups[1], p.workgroups[2]);
    this.passes++;
    if (this.ts) {
      this.pass!.end();
      this.pass = null;
    }
    if (debugLevel >= 2) {
      const consts = Object.entries(p.constants).map(([k, v]) => `${k}=${v}`).join(',');
      const io = p.buffers.map((b) => `${b.label}`).join(' | ');
      dbg(2, `${kernelName}${p.entry !== kernelName ? ` → ${p.entry}` : ''} wg [${p.workgroups.join(',')}]${consts ? ` {${consts}}` : ''} ${io}`);
      if (debugLevel >= 3) dbg(3, `  params ${JSON.stringify(p.params)}`);
    }
    if (this.passes >= BATCH) this.flush();
  }

  /** Submits the recorded batch (with its params), then recycles the buffers it freed. */
  flush(): void {
    if (!this.encoder || this.disposed) return;
    const t0 = this.profiler ? performance.now() : 0;
    this.pass?.end();
    const readTimes = this.ts && this.ts.names.length > 0 ? this.resolveTimestamps(this.encoder) : null;
    const cmd = this.encoder.finish();
    for (let i = 0; i <= this.chunkIdx && i < this.chunks.length; i++) {
      const c = this.chunks[i];
      if (c.used > 0) this.device.queue.writeBuffer(c.buf, 0, c.data, 0, c.used);
      c.used = 0;
    }
    this.chunkIdx = 0;
    this.device.queue.submit([cmd]);
    this.counters.submits++;
    readTimes?.();
    this.encoder = null;
    this.pass = null;
    this.passes = 0;
    this.batch++;
    for (const b of this.pendingFree) this.toPool(b.cls, b.gpu);
    this.pendingFree = [];
    if (this.profiler) {
      const dt = performance.now() - t0;
      this.flushMs += dt;
      this.profiler.submit(dt);
    }
  }

  /**
   * Records the batch's timestamp resolve and copy into `enc`; returns what to call after the submit:
   * it maps the staging buffer without waiting and hands the pass times to the profiler when they come.
   */
  private resolveTimestamps(enc: GPUCommandEncoder): () => void {
    const ts = this.ts!;
    const n = ts.names.length;
    const names = ts.names;
    const entries = ts.entries;
    const steps = ts.steps;
    ts.names = [];
    ts.entries = [];
    ts.steps = [];
    const staging = ts.free.pop() ?? this.device.createBuffer({ size: 16 * BATCH, usage: USAGE.MAP_READ | USAGE.COPY_DST, label: 'pugd profile staging' });
    enc.resolveQuerySet(ts.set, 0, 2 * n, ts.resolve, 0);
    enc.copyBufferToBuffer(ts.resolve, 0, staging, 0, 16 * n);
    const prof = this.profiler!;
    return () => {
      const p = staging.mapAsync(MAP_READ, 0, 16 * n).then(
        () => {
          const t = new BigInt64Array(staging.getMappedRange(0, 16 * n));
          for (let i = 0; i < n; i++) prof.gpu(names[i], entries[i], Number(t[2 * i + 1] - t[2 * i]), steps[i]);
          staging.unmap();
          if (this.ts === ts) ts.free.push(staging);
          else staging.destroy();
        },
        () => {},
      );
      ts.pending.add(p);
      p.finally(() => ts.pending.delete(p));
    };
  }

  // ---- readback and sync -----------------------------------------------------------------------------

  async read(buf: Buf, bytes = buf.bytes): Promise<ArrayBuffer> {
    this.check();
    const b = buf as GpuBuf;
    if (bytes > b.bytes) throw new Error(`webgpu: read of ${bytes} bytes from '${b.label}' (${b.bytes} bytes)`);
    if (bytes === 0) return new ArrayBuffer(0);
    this.flush();
    const size = Math.ceil(bytes / 4) * 4;
    const cls = gpuSizeClass(size);
    const staging = this.stagingPool.get(cls)?.pop() ?? this.device.createBuffer({ size: cls, usage: USAGE.MAP_READ | USAGE.COPY_DST, label: `pugd readback ${cls}` });
    const enc = this.device.createCommandEncoder({ label: `read ${b.label}` });
    enc.copyBufferToBuffer(b.gpu, 0, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    this.counters.submits++;
    this.counters.readbacks++;
    try {
      await Promise.race([staging.mapAsync(MAP_READ, 0, size), this.lostPromise]);
    } catch (e) {
      this.check();
      throw new Error(`webgpu: reading '${b.label}' failed: ${(e as Error).message}`);
    }
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    let list = this.stagingPool.get(cls);
    if (!list) this.stagingPool.set(cls, (list = []));
    list.push(staging);
    this.check();
    return out;
  }

  async sync(): Promise<void> {
    this.check();
    this.flush();
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.lostPromise]);
    if (this.ts) await Promise.race([Promise.all([...this.ts.pending]), this.lostPromise]);
    this.check();
  }

  /**
   * Creates the pipeline of every entry point (registry kernels and helper passes) with each override
   * constant at 0 and at 1, and returns the validation errors, each naming its entry point. For the
   * WGSL checks in tests; training creates pipelines lazily.
   */
  async buildAllPipelines(): Promise<string[]> {
    const errors: string[] = [];
    const specs = [...Object.values(kernels), ...Object.values(helperKernels)].flat();
    for (const k of specs) {
      const variants: Record<string, number>[] = [{}];
      for (const c of k.constants ?? []) variants.push(...variants.map((v) => ({ ...v, [c]: 1 })));
      for (const constants of variants) {
        const module = this.modules.get(k.family);
        if (!module) {
          errors.push(`${k.name}: wgsl/${k.family}.wgsl was not compiled`);
          continue;
        }
        this.device.pushErrorScope('validation');
        this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: k.name, constants } });
        const e = await this.device.popErrorScope();
        if (e) errors.push(`${k.name} ${JSON.stringify(constants)}: ${e.message}`);
      }
    }
    return errors;
  }

  /** @internal For tests: destroys the device as a driver reset would, to exercise device loss. */
  simulateDeviceLoss(): void {
    this.device.destroy();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const list of [...this.pool.values(), ...this.stagingPool.values()]) for (const g of list) g.destroy();
    for (const c of this.chunks) c.buf.destroy();
    this.destroyTimestamps();
    this.pool.clear();
    this.stagingPool.clear();
    this.pipelines.clear();
    this.modules.clear();
    this.encoder = null;
    this.pass = null;
    // A live device keeps the Node process alive; a destroyed one does not. The Dawn instance itself
    // stays (see getGpu).
    this.device.destroy();
    liveBackends.delete(this);
    this.gpu = null;
    dropBackend('webgpu', this);
  }

  private lostError(): Error {
    return new Error(
      `webgpu: the GPU device was lost (${this.lost}); tensors on it are gone. Call setBackend('webgpu') to open a new device, or setBackend('auto') to fall back to wasm when none is available.`,
    );
  }

  private record(e: Error): void {
    if (!this.error) this.error = e;
    dbg(1, e.message);
  }

  /** Throws the first captured error, device loss, or use after dispose. */
  private check(): void {
    if (this.disposed) throw new Error('webgpu: backend was disposed');
    if (this.lost) throw this.lostError();
    if (this.error) {
      const e = this.error;
      this.error = null;
      throw e;
    }
  }
}

registerBackend('webgpu', (opts) => WebGpuBackend.create({ dawnFlags: opts.dawnFlags, profile: opts.profile }));
