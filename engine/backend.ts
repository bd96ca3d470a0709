// The backend interface, and the choice of backend at run time.
//
// A backend owns device memory and runs kernels; it knows nothing of ops, autograd or shapes beyond
// the params each kernel receives. Everything above it (engine/ops, autograd, optimizers) is written
// once against this interface. Two backends implement it: `wasm` (engine/backends/wasm.ts) and
// `webgpu` (engine/backends/webgpu.ts).
//
// Contract, in the words of the WebGPU issue: `run` only enqueues and never waits; the only path from
// device to host is `read` (behind Tensor.toArray); a freed buffer may be reused by the backend only
// once the work that last used it has been submitted.

import type { KernelSpec } from './kernel.js';
import type { Profiler, ProfileReport } from './profiler.js';

export type BackendName = 'wasm' | 'webgpu';

/** An opaque device allocation. Backends attach their own fields. */
export interface Buf {
  /** Bytes requested by the caller. */
  readonly bytes: number;
  /** What this buffer holds, for error messages (`conv2d output [32,16,32,32]`). */
  readonly label: string;
}

/** What `pugd info` prints: the backend, the adapter behind it, limits and features. */
export interface BackendInfo {
  name: BackendName;
  /** One line for logs: `wasm (SIMD, 2 threads)`, `webgpu (nvidia / hopper)`. */
  description: string;
  /** Worker threads the backend computes with (wasm); 1 when single-threaded. */
  threads?: number;
  adapter?: {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    isFallbackAdapter: boolean;
  };
  limits?: Record<string, number>;
  features?: string[];
  /** The flags Dawn was created with (webgpu in Node). */
  dawnFlags?: string[];
}

/** Counters that tests and benches read. Monotonic except `liveBytes`/`liveBuffers`. */
export interface BackendCounters {
  /** Kernel dispatches issued. */
  dispatches: number;
  /** Device→host reads (`read` calls; on WebGPU each is one mapAsync). */
  readbacks: number;
  /** Bytes held by live (not freed) allocations, as requested by callers. */
  liveBytes: number;
  liveBuffers: number;
  /** High-water mark of liveBytes. */
  peakBytes: number;
  /** Submits to the device queue (WebGPU); 0 on wasm. */
  submits: number;
  /** Pipelines compiled (WebGPU). */
  pipelines: number;
}

/** Options for `setBackend`; a backend ignores the ones that do not concern it. */
export interface BackendOptions {
  /**
   * wasm: threads computing each kernel (the calling thread plus workers over a shared memory).
   * Default: the PUGD_THREADS environment variable, else min(available cores, 4).
   */
  threads?: number;
  /**
   * webgpu in Node: flags for dawn.node's `create()`, e.g. `'disable-dawn-features=timestamp_quantization'`
   * or `'enable-dawn-features=skip_validation'` (Dawn toggles), `'backend=vulkan'`, `'adapter=NAME'`.
   * They are fixed for the process when WebGPU first starts (one Dawn instance per process); asking for
   * other flags later is an error. Default: the PUGD_DAWN_FLAGS environment variable, split on
   * whitespace. Browsers ignore them.
   */
  dawnFlags?: string[];
  /**
   * Time every kernel (see profileReport()): calls and host time on both backends; on WebGPU also the
   * device time of each pass from `timestamp-query` when the adapter has it. The feature is requested
   * at device creation only when profiling, and in Node the flag
   * `disable-dawn-features=timestamp_quantization` is added to Dawn's flags if Dawn has not started
   * yet (else timestamps stay quantized and the report says so). Default: PUGD_PROFILE=1. Off costs
   * one branch per dispatch.
   */
  profile?: boolean;
}

export interface Backend {
  readonly name: BackendName;
  readonly info: BackendInfo;
  readonly counters: BackendCounters;
  /** Allocates `bytes` (may be 0). Throws an out-of-memory error naming `label` and the size. */
  alloc(bytes: number, label: string): Buf;
  /** Returns a buffer to the backend. Safe to call while queued work still uses it. */
  free(buf: Buf): void;
  /** Copies host data into the start of `buf`. */
  upload(buf: Buf, data: Float32Array | Int32Array | Uint8Array): void;
  /** Enqueues one kernel. Inputs and outputs must be distinct buffers. Never waits. */
  run(kernel: KernelSpec, params: Record<string, number>, inputs: readonly Buf[], outputs: readonly Buf[]): void;
  /** Submits queued work (no-op where `run` executes at once). */
  flush(): void;
  /** The only readback: a copy of the first `bytes` of `buf` (all of it by default). */
  read(buf: Buf, bytes?: number): Promise<ArrayBuffer>;
  /** Resolves when all submitted work has finished. */
  sync(): Promise<void>;
  /** Releases the device. The backend is unusable afterwards. */
  dispose(): void;
  /** The running profiler, or null when profiling is off. */
  readonly profiler?: Profiler | null;
  /** Applies `setBackend` options to an existing instance (tensors stay valid). */
  configure?(opts: BackendOptions): Promise<void>;
}

type Factory = (opts: BackendOptions) => Promise<Backend>;
const factories = new Map<BackendName, Factory>();
const instances = new Map<BackendName, Backend>();
let current: Backend | null = null;

/** Makes a backend available to `setBackend`. Backends call this from their own module. */
export function registerBackend(name: BackendName, factory: Factory): void {
  factories.set(name, factory);
}

/** Names of registered backends (not necessarily usable on this machine). */
export function registeredBackends(): BackendName[] {
  return [...factories.keys()];
}

/** Where `setBackend`'s one-line announcement goes; tests and `--json` runs may silence it. */
let announce: (line: string) => void = (line) => console.error(line);
export function setBackendLogger(fn: ((line: string) => void) | null): void {
  announce = fn ?? (() => {});
}

async function instantiate(name: BackendName, opts: BackendOptions): Promise<Backend> {
  const existing = instances.get(name);
  if (existing) {
    if (Object.keys(opts).length > 0) await existing.configure?.(opts);
    return existing;
  }
  const factory = factories.get(name);
  if (!factory) {
    throw new Error(
      `setBackend: backend '${name}' is not available in this build (registered: ${registeredBackends().join(', ') || 'none'})`,
    );
  }
  const backend = await factory(opts);
  instances.set(name, backend);
  return backend;
}

/**
 * Chooses the backend new tensors are created on.
 *
 * `'auto'` takes WebGPU when an adapter exists and WASM otherwise, and says which it took (and why)
 * through the backend logger (stderr by default). `opts` apply to the chosen backend, also when it
 * already exists (e.g. a new thread count for wasm; its tensors stay valid).
 *
 * @example
 *   await setBackend('wasm');
 *   await setBackend('wasm', { threads: 1 });  // single-threaded from now on
 *   const name = await setBackend('auto'); // 'webgpu' or 'wasm'
 */
export async function setBackend(name: BackendName | 'auto', opts: BackendOptions = {}): Promise<BackendName> {
  if (name === 'auto') {
    let why = 'no WebGPU backend in this build';
    if (factories.has('webgpu')) {
      try {
        current = await instantiate('webgpu', opts);
        announce(`pugd: backend auto → webgpu (${current.info.description})`);
        return 'webgpu';
      } catch (e) {
        why = (e as Error).message;
      }
    }
    current = await instantiate('wasm', opts);
    announce(`pugd: backend auto → wasm (${current.info.description}); WebGPU not used: ${why}`);
    return 'wasm';
  }
  if (name !== 'wasm' && name !== 'webgpu') {
    throw new Error(`setBackend: unknown backend '${String(name)}' (expected 'wasm', 'webgpu' or 'auto')`);
  }
  current = await instantiate(name, opts);
  return name;
}

/** The current backend. Throws if `setBackend` has not been awaited yet (there is no implicit default). */
export function getBackend(): Backend {
  if (!current) {
    // No implicit default: opening WebGPU is asynchronous and tensor() is not, so the choice is made once,
    // explicitly, by an awaited call (README, Library API).
    throw new Error("pugd: no backend selected; call `await setBackend('auto')` (or 'wasm' | 'webgpu') once before creating tensors");
  }
  return current;
}

/** The current backend's name, or null before `setBackend`. */
export function currentBackendName(): BackendName | null {
  return current?.name ?? null;
}

/**
 * Forgets a backend instance (after device loss or `dispose`), so the next `setBackend` creates a
 * fresh one. Tensors that lived on it become unusable. With `only`, drops it only if it is that instance.
 */
export function dropBackend(name: BackendName, only?: Backend): void {
  const b = instances.get(name);
  // `only`: a backend instance forgetting itself must not drop another one registered under its name.
  if (only && b !== only) return;
  instances.delete(name);
  if (current === b) current = null;
}

/**
 * Disposes a backend instance (releasing its device: a Node process with a live Dawn device does not
 * exit) and forgets it; the next `setBackend(name)` creates a fresh one. No-op if it was never created.
 * Not needed before a Node process ends: the WebGPU backend disposes its live devices at exit itself.
 */
export function disposeBackend(name: BackendName): void {
  const b = instances.get(name);
  if (!b) return;
  dropBackend(name);
  b.dispose();
}

/** Marks the end of a training step for the profiler (no-op when profiling is off). */
export function profileStep(): void {
  current?.profiler?.step();
}

/**
 * The current backend's profile so far (waits for the device so GPU times are complete), or null when
 * profiling is off. Per kernel: calls, host ms, GPU ms; per step (profileStep()): wall vs summed GPU ms.
 */
export async function profileReport(): Promise<ProfileReport | null> {
  const b = current;
  if (!b?.profiler) return null;
  await b.sync();
  return b.profiler.report(b.info.description);
}
