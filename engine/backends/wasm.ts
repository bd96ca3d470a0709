// The WASM backend: AssemblyScript kernels (assembly/, compiled with SIMD) over one linear memory,
// computed by one or more threads.
//
// Builds: build/kernels-mt.wasm (threads build: imports a shared memory) whenever worker threads are
// possible (Node; browsers when crossOriginIsolated), also when running on one thread, so the thread
// count can change later without moving tensors; build/kernels.wasm (own, unshared memory) otherwise.
// Both come from the same sources and give the same bits.
//
// Threads: `setBackend('wasm', { threads })`, else PUGD_THREADS, else min(available cores, 4). A call
// on n threads is cut into n shares that the calling thread and the workers claim
// (engine/backends/wasm_threads.ts), so a worker scheduled late costs nothing. Kernels split their
// outputs over shares (assembly/parallel.ts), never a reduction, so any thread count gives the same
// bits. Calls whose buffers are small run on the calling thread alone: waking the workers costs ~10 µs.
//
// Scratch: a kernel that needs temporary memory (packed GEMM panels, padded images) exports
// `<kernel>_scratch(params…)` → bytes per thread. Before the call the backend grows one reusable
// arena to that size × threads and passes each thread its block (`set_thread(tid, n, scratch)`). The
// arena is backend-internal: it is not a tensor, does not count in `memory().liveBytes` and needs
// nothing from the kernel specs (so the WebGPU backend is unaffected). Kernels never allocate.
//
// Memory: tensors live in the module's linear memory; this file's allocator hands out 64-byte
// aligned blocks from size-classed free lists (4 classes per power of two, so a block is at most
// ~19% larger than asked) above the module's static data, growing the memory when needed. Blocks are
// reused by size class, which suits training loops: the same shapes recur every step, so live memory
// reaches a plateau after the first step. wasm32 caps memory at 4 GiB; an allocation beyond that
// fails with the label and size asked for.
//
// Execution: `run` calls the export named like the kernel with (input pointers, output pointers,
// params in spec order) synchronously; there is no queue, so `flush`/`sync` are no-ops.

import type { Backend, BackendCounters, BackendInfo, BackendOptions, Buf } from '../backend.js';
import { registerBackend } from '../backend.js';
import type { KernelSpec } from '../kernel.js';
import { kernels } from '../ops/index.js';
import { kernelsMtInitialPages, kernelsMtWasm, kernelsWasm } from '../generated/assets.js';
import { decodeBase64 } from '../util/base64.js';
import { Profiler, envProfile } from '../profiler.js';
import { MAX_THREADS, ThreadPool, availableCores, threadsUnavailableReason } from './wasm_threads.js';

interface WasmBuf extends Buf {
  readonly ptr: number;
  readonly cls: number;
  freed: boolean;
}

const ALIGN = 64;
const PAGE = 65536;
const MAX_PAGES = 65536;
const MAX_BYTES = 4 * 1024 * 1024 * 1024 - PAGE; // wasm32 limit (65536 pages), less one page of slack
/**
 * Below these many bytes of operands a call runs on the calling thread only. Kernels with scratch
 * (GEMMs) do O(size^1.5) work, so they pay for the ~10 µs wake-up sooner than streaming kernels.
 */
const PARALLEL_MIN_BYTES_GEMM = 48 * 1024;
const PARALLEL_MIN_BYTES_STREAM = 192 * 1024;

/** Size class: multiples of 64 up to 1 KiB, then 4 classes per power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= ALIGN) return ALIGN;
  if (bytes <= 1024) return Math.ceil(bytes / ALIGN) * ALIGN;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = p / 4;
  return Math.ceil(bytes / step) * step;
}

type KernelFn = (...args: number[]) => void;
type ScratchFn = (...params: number[]) => number;

/** `setBackend('wasm', …)` options, plus internal ones for tests. */
export interface WasmBackendOptions extends BackendOptions {
  /** @internal 'single' forces the single-threaded build (tests compare both builds bit for bit). */
  build?: 'auto' | 'single';
  /** @internal Tests: leave these exports out, as a build that lacks them would. */
  withoutExports?: readonly string[];
}

/** Per-kernel wall time, when profiling is on. */
export interface KernelProfile {
  calls: number;
  ms: number;
}

function checkThreads(n: unknown, where: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new Error(`${where}: threads must be an integer from 1 to ${MAX_THREADS}, got ${String(n)}`);
  }
  return n;
}

/** PUGD_THREADS, when set (Node only). */
function envThreads(): number | undefined {
  const env = typeof process !== 'undefined' ? process.env?.PUGD_THREADS : undefined;
  if (env === undefined || env === '') return undefined;
  const n = Number(env);
  if (!Number.isInteger(n)) throw new Error(`PUGD_THREADS: threads must be an integer from 1 to ${MAX_THREADS}, got '${env}'`);
  return checkThreads(n, 'PUGD_THREADS');
}

function abortImport(msg: number, file: number, line: number, col: number): never {
  throw new Error(`wasm kernel aborted at ${line}:${col} (message @${msg}, file @${file})`);
}

/**
 * Why each registry kernel cannot run from the module's exports `ex`: the export is missing, or its
 * arity is not the spec's inputs + outputs + params (the arguments are positional, so a mismatch
 * would silently shift them), or its `<kernel>_scratch` export does not take the params. Kernels
 * that can run are absent from the map.
 */
export function checkKernelExports(ex: Record<string, unknown>, families: Record<string, readonly KernelSpec[]>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [family, list] of Object.entries(families)) {
    for (const k of list) {
      const where = `wasm: kernel '${k.name}' (assembly/${family}.ts)`;
      const f = ex[k.name];
      const arity = k.inputs.length + k.outputs.length + k.params.length;
      const args = `${k.inputs.length} inputs + ${k.outputs.length} outputs + ${k.params.length} params = ${arity}`;
      const s = ex[`${k.name}_scratch`];
      if (typeof f !== 'function') {
        out.set(k.name, `${where} is missing from kernels.wasm: add the export to assembly/index.ts and rebuild with npm run build`);
      } else if (f.length !== arity) {
        out.set(k.name, `${where} takes ${f.length} arguments, but its spec (engine/ops/${family}.ts) passes ${args}`);
      } else if (s !== undefined && (typeof s !== 'function' || s.length !== k.params.length)) {
        const got = typeof s === 'function' ? `${s.length} arguments` : 'no function';
        out.set(k.name, `${where}: its ${k.name}_scratch export takes ${got}, but its spec has ${k.params.length} params`);
      }
    }
  }
  return out;
}

async function compileKernels(base64: string): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(decodeBase64(base64));
  } catch (e) {
    throw new Error(`wasm backend: could not compile the kernels (WebAssembly SIMD is required): ${(e as Error).message}`);
  }
}

async function instantiateKernels(module: WebAssembly.Module, env: WebAssembly.ModuleImports): Promise<WebAssembly.Instance> {
  try {
    return await WebAssembly.instantiate(module, { env });
  } catch (e) {
    throw new Error(`wasm backend: could not instantiate the kernels: ${(e as Error).message}`);
  }
}

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly info: BackendInfo;
  readonly counters: BackendCounters = { dispatches: 0, readbacks: 0, liveBytes: 0, liveBuffers: 0, peakBytes: 0, submits: 0, pipelines: 0 };
  private readonly memory: WebAssembly.Memory;
  private readonly index = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly fns: KernelFn[] = [];
  private readonly scratchFns: (ScratchFn | null)[] = [];
  /** Registry kernels this build cannot run, with the reason (checkKernelExports). */
  private readonly unavailable: ReadonlyMap<string, string>;
  private readonly setThread: (tid: number, n: number, scratch: number) => void;
  private readonly free_ = new Map<number, number[]>();
  private top: number;
  private disposed = false;
  private pool: ThreadPool | null = null;
  private threads = 1;
  private threadChange: Promise<void> = Promise.resolve();
  private arenaPtr = 0;
  private arenaCls = 0;
  /** The profiler while profiling is on (setBackend option `profile`, PUGD_PROFILE=1). */
  profiler: Profiler | null = null;
  private minBytesGemm = PARALLEL_MIN_BYTES_GEMM;
  private minBytesStream = PARALLEL_MIN_BYTES_STREAM;

  private constructor(
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory,
    /** The threads build, for starting workers; null for the single-threaded build. */
    private readonly mtModule: WebAssembly.Module | null,
    /** Why threads cannot be used here (single-threaded build only). */
    private readonly noThreadsReason: string | null,
    opts: WasmBackendOptions,
  ) {
    const ex = { ...(instance.exports as Record<string, unknown>) };
    for (const name of opts.withoutExports ?? []) delete ex[name];
    this.memory = memory;
    this.top = Math.ceil((ex.heap_base as () => number)() / ALIGN) * ALIGN;
    this.setThread = ex.set_thread as (tid: number, n: number, scratch: number) => void;
    // A kernel whose export is missing or has the wrong arity fails alone, when it runs, with the
    // reason; the other kernels (and families) keep working.
    this.unavailable = checkKernelExports(ex, kernels);
    for (const list of Object.values(kernels)) {
      for (const k of list) {
        if (this.unavailable.has(k.name)) continue;
        this.index.set(k.name, this.names.length);
        this.names.push(k.name);
        this.fns.push(ex[k.name] as KernelFn);
        const s = ex[`${k.name}_scratch`];
        this.scratchFns.push(typeof s === 'function' ? (s as ScratchFn) : null);
      }
    }
    if (typeof this.setThread !== 'function') throw new Error('wasm backend: kernels.wasm lacks set_thread (rebuild with npm run build)');
    this.info = { name: 'wasm', description: '', threads: 1 };
    this.describe(null);
  }

  static async create(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
    if (typeof WebAssembly === 'undefined') throw new Error('wasm backend: WebAssembly is not available in this environment');
    const explicit = opts.threads !== undefined ? checkThreads(opts.threads, "setBackend('wasm')") : envThreads();
    const wanted = explicit ?? Math.min(await availableCores(), 4);
    const noThreads = opts.build === 'single' ? 'the single-threaded build was requested' : threadsUnavailableReason();
    let backend: WasmBackend;
    if (noThreads === null) {
      const module = await compileKernels(kernelsMtWasm);
      const memory = new WebAssembly.Memory({ initial: kernelsMtInitialPages, maximum: MAX_PAGES, shared: true });
      backend = new WasmBackend(await instantiateKernels(module, { memory, abort: abortImport }), memory, module, null, opts);
    } else {
      const instance = await instantiateKernels(await compileKernels(kernelsWasm), { abort: abortImport });
      backend = new WasmBackend(instance, instance.exports.memory as WebAssembly.Memory, null, noThreads, opts);
    }
    await backend.setThreads(wanted, explicit !== undefined);
    if (opts.profile ?? envProfile()) backend.profile(true);
    return backend;
  }

  /** `setBackend('wasm', { threads })` on the existing instance: tensors stay where they are. */
  async configure(opts: BackendOptions): Promise<void> {
    this.check();
    if (opts.threads !== undefined) await this.setThreads(checkThreads(opts.threads, "setBackend('wasm')"), true);
    if (opts.profile !== undefined && opts.profile !== !!this.profiler) this.profile(opts.profile);
  }

  /**
   * Uses `n` threads from now on. When threads are impossible here (or workers fail to start), an
   * explicit request throws naming the reason; the default quietly stays on one thread and says why
   * in `info.description`.
   */
  private setThreads(n: number, explicit: boolean): Promise<void> {
    // One change at a time: overlapping setBackend calls must not both replace the pool.
    const next = this.threadChange.then(() => this.applyThreads(n, explicit));
    this.threadChange = next.catch(() => {});
    return next;
  }

  private async applyThreads(n: number, explicit: boolean): Promise<void> {
    if (n === this.threads && (n === 1 || this.pool)) return;
    this.pool?.dispose();
    this.pool = null;
    this.threads = 1;
    let why: string | null = null;
    if (n > 1) {
      if (!this.mtModule) why = `threads are unavailable: ${this.noThreadsReason}`;
      else {
        try {
          this.pool = await ThreadPool.start(this.mtModule, this.memory, this.names, n - 1);
          this.threads = n;
        } catch (e) {
          why = (e as Error).message;
        }
      }
      if (why && explicit) {
        this.describe(why);
        throw new Error(`setBackend('wasm'): cannot use ${n} threads: ${why}`);
      }
    }
    this.describe(why);
  }

  private describe(why: string | null): void {
    const t = this.threads;
    this.info.threads = t;
    this.info.description = `wasm (SIMD, ${t} thread${t === 1 ? '' : 's'}${why ? `; ${why}` : ''})`;
  }

  /** @internal Starts (or with `false` stops) timing every kernel; returns the times so far. */
  profile(on: boolean): Record<string, KernelProfile> {
    const kernels = this.profiler?.report('wasm').kernels ?? {};
    const out = Object.fromEntries(Object.entries(kernels).map(([k, e]) => [k, { calls: e.calls, ms: e.cpuMs }]));
    this.profiler = on ? new Profiler(false, 'WASM runs kernels on the calling thread: cpu ms is their run time') : null;
    return out;
  }

  /**
   * @internal Operand bytes from which calls use all threads (GEMM kernels / streaming kernels);
   * tests pass 0 to run every kernel split over the threads. No argument: back to the defaults.
   */
  setParallelMinBytes(gemm = PARALLEL_MIN_BYTES_GEMM, stream = PARALLEL_MIN_BYTES_STREAM): void {
    this.minBytesGemm = gemm;
    this.minBytesStream = stream;
  }

  /** @internal Bytes held by the scratch arena (not counted in liveBytes). */
  get scratchBytes(): number {
    return this.arenaCls;
  }

  /** Takes a block of size class `cls` from the free lists or the top of memory. */
  private take(cls: number, bytes: number, label: string): number {
    const list = this.free_.get(cls);
    const reused = list?.pop();
    if (reused !== undefined) return reused;
    if (this.top + cls > MAX_BYTES) {
      throw new Error(
        `wasm: out of memory allocating ${fmtBytes(bytes)} for ${label} (${fmtBytes(this.counters.liveBytes)} live; WebAssembly memory is limited to 4 GiB)`,
      );
    }
    const ptr = this.top;
    this.top += cls;
    const need = this.top - this.memory.buffer.byteLength;
    if (need > 0) {
      // Grow geometrically (at least 1/8 of the current size) so growth stays amortised O(1).
      const pages = Math.max(Math.ceil(need / PAGE), Math.ceil(this.memory.buffer.byteLength / PAGE / 8));
      const cur = this.memory.buffer.byteLength / PAGE;
      try {
        this.memory.grow(Math.min(pages, MAX_PAGES - cur));
      } catch {
        this.top -= cls;
        throw new Error(`wasm: out of memory allocating ${fmtBytes(bytes)} for ${label} (the host refused to grow WebAssembly memory beyond ${fmtBytes(this.memory.buffer.byteLength)})`);
      }
    }
    return ptr;
  }

  private give(ptr: number, cls: number): void {
    let list = this.free_.get(cls);
    if (!list) this.free_.set(cls, (list = []));
    list.push(ptr);
  }

  alloc(bytes: number, label: string): Buf {
    this.check();
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`wasm: invalid allocation size ${bytes} for ${label}`);
    const cls = sizeClass(bytes);
    const ptr = this.take(cls, bytes, label);
    this.counters.liveBytes += bytes;
    this.counters.liveBuffers++;
    if (this.counters.liveBytes > this.counters.peakBytes) this.counters.peakBytes = this.counters.liveBytes;
    const b: WasmBuf = { bytes, label, ptr, cls, freed: false };
    return b;
  }

  free(buf: Buf): void {
    const b = buf as WasmBuf;
    if (b.freed) throw new Error(`wasm: buffer '${b.label}' freed twice (engine bug)`);
    b.freed = true;
    this.counters.liveBytes -= b.bytes;
    this.counters.liveBuffers--;
    this.give(b.ptr, b.cls);
  }

  /** Makes the scratch arena at least `bytes` long (it only grows; blocks are reused by class). */
  private ensureArena(bytes: number, kernel: string): void {
    if (bytes <= this.arenaCls) return;
    const cls = sizeClass(bytes);
    const ptr = this.take(cls, bytes, `scratch of ${kernel}`);
    if (this.arenaCls) this.give(this.arenaPtr, this.arenaCls);
    this.arenaPtr = ptr;
    this.arenaCls = cls;
  }

  upload(buf: Buf, data: Float32Array | Int32Array | Uint8Array): void {
    const b = buf as WasmBuf;
    if (data.byteLength > b.bytes) throw new Error(`wasm: upload of ${data.byteLength} bytes into '${b.label}' (${b.bytes} bytes)`);
    new Uint8Array(this.memory.buffer, b.ptr, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  run(k: KernelSpec, params: Record<string, number>, inputs: readonly Buf[], outputs: readonly Buf[]): void {
    this.check();
    const idx = this.index.get(k.name);
    if (idx === undefined) throw new Error(this.unavailable.get(k.name) ?? `wasm: no kernel '${k.name}' in the kernel registry (engine/ops/index.ts)`);
    if (inputs.length !== k.inputs.length || outputs.length !== k.outputs.length) {
      throw new Error(`wasm: ${k.name} takes ${k.inputs.length} inputs and ${k.outputs.length} outputs, got ${inputs.length} and ${outputs.length}`);
    }
    const args: number[] = [];
    let bytes = 0;
    for (const b of inputs) {
      args.push((b as WasmBuf).ptr);
      bytes += b.bytes;
    }
    for (const b of outputs) {
      args.push((b as WasmBuf).ptr);
      bytes += b.bytes;
    }
    const nbuf = args.length;
    for (const [p] of k.params) {
      const v = params[p];
      if (typeof v !== 'number') throw new Error(`wasm: ${k.name} is missing param '${p}'`);
      args.push(v);
    }
    this.counters.dispatches++;
    const scratchFn = this.scratchFns[idx];
    const pool = this.pool;
    const nt = pool && pool.size > 0 && bytes >= (scratchFn ? this.minBytesGemm : this.minBytesStream) ? this.threads : 1;
    let perThread = 0;
    if (scratchFn) {
      perThread = Math.ceil((scratchFn(...args.slice(nbuf)) >>> 0) / ALIGN) * ALIGN;
      this.ensureArena(perThread * nt, k.name);
    }
    const t0 = this.profiler ? performance.now() : 0;
    const fn = this.fns[idx];
    const scratch = this.arenaPtr;
    if (nt === 1) {
      this.setThread(0, 1, scratch);
      fn(...args);
    } else {
      try {
        // Share v on this thread uses this thread's scratch block (block 0).
        pool!.run(idx, k.name, args, nt, scratch, perThread, (v) => {
          this.setThread(v, nt, scratch);
          fn(...args);
        });
      } finally {
        if (pool!.broken) this.fallBackToOneThread(pool!.broken);
      }
    }
    if (this.profiler) this.profiler.cpu(k.name, performance.now() - t0);
  }

  private fallBackToOneThread(why: string): void {
    this.pool?.dispose();
    this.pool = null;
    this.threads = 1;
    this.describe(why);
  }

  flush(): void {}

  async read(buf: Buf, bytes = buf.bytes): Promise<ArrayBuffer> {
    this.check();
    const b = buf as WasmBuf;
    this.counters.readbacks++;
    // A copy into a plain ArrayBuffer (the memory may be a SharedArrayBuffer).
    const out = new ArrayBuffer(bytes);
    new Uint8Array(out).set(new Uint8Array(this.memory.buffer, b.ptr, bytes));
    return out;
  }

  async sync(): Promise<void> {}

  /** @internal Direct view of a buffer's bytes (tests and optimizer internals on wasm only). */
  view(buf: Buf): Uint8Array {
    const b = buf as WasmBuf;
    return new Uint8Array(this.memory.buffer, b.ptr, b.bytes);
  }

  dispose(): void {
    this.disposed = true;
    this.pool?.dispose();
    this.pool = null;
  }

  private check(): void {
    if (this.disposed) throw new Error('wasm: backend was disposed');
  }
}

function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

registerBackend('wasm', (opts) => WasmBackend.create(opts));
