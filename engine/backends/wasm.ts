// The WASM backend: AssemblyScript kernels (assembly/, compiled with SIMD) over one linear memory.
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

import type { Backend, BackendCounters, BackendInfo, Buf } from '../backend.js';
import { registerBackend } from '../backend.js';
import type { KernelSpec } from '../kernel.js';
import { kernels } from '../ops/index.js';
import { kernelsWasm } from '../generated/assets.js';
import { decodeBase64 } from '../util/base64.js';

interface WasmBuf extends Buf {
  readonly ptr: number;
  readonly cls: number;
  freed: boolean;
}

const ALIGN = 64;
const PAGE = 65536;
const MAX_BYTES = 4 * 1024 * 1024 * 1024 - PAGE; // wasm32 limit (65536 pages), less one page of slack

/** Size class: multiples of 64 up to 1 KiB, then 4 classes per power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= ALIGN) return ALIGN;
  if (bytes <= 1024) return Math.ceil(bytes / ALIGN) * ALIGN;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = p / 4;
  return Math.ceil(bytes / step) * step;
}

type KernelFn = (...args: number[]) => void;

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly info: BackendInfo;
  readonly counters: BackendCounters = { dispatches: 0, readbacks: 0, liveBytes: 0, liveBuffers: 0, peakBytes: 0, submits: 0, pipelines: 0 };
  private readonly memory: WebAssembly.Memory;
  private readonly fns = new Map<string, KernelFn>();
  private readonly free_ = new Map<number, number[]>();
  private top: number;
  private disposed = false;

  private constructor(instance: WebAssembly.Instance) {
    const ex = instance.exports as Record<string, unknown>;
    this.memory = ex.memory as WebAssembly.Memory;
    this.top = Math.ceil((ex.heap_base as () => number)() / ALIGN) * ALIGN;
    const missing: string[] = [];
    for (const list of Object.values(kernels)) {
      for (const k of list) {
        const f = ex[k.name];
        if (typeof f !== 'function') missing.push(`${k.family}/${k.name}`);
        else this.fns.set(k.name, f as KernelFn);
      }
    }
    if (missing.length) throw new Error(`wasm backend: kernels.wasm lacks kernels: ${missing.join(', ')} (rebuild with npm run build)`);
    this.info = { name: 'wasm', description: 'wasm (SIMD, 1 thread)', threads: 1 };
  }

  static async create(): Promise<WasmBackend> {
    if (typeof WebAssembly === 'undefined') throw new Error('wasm backend: WebAssembly is not available in this environment');
    const bytes = decodeBase64(kernelsWasm);
    let instance: WebAssembly.Instance;
    try {
      const mod = await WebAssembly.compile(bytes);
      instance = await WebAssembly.instantiate(mod, {
        env: {
          abort(msg: number, file: number, line: number, col: number) {
            throw new Error(`wasm kernel aborted at ${line}:${col} (message @${msg}, file @${file})`);
          },
        },
      });
    } catch (e) {
      throw new Error(`wasm backend: could not instantiate kernels.wasm (WebAssembly SIMD is required): ${(e as Error).message}`);
    }
    return new WasmBackend(instance);
  }

  alloc(bytes: number, label: string): Buf {
    this.check();
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`wasm: invalid allocation size ${bytes} for ${label}`);
    const cls = sizeClass(bytes);
    const list = this.free_.get(cls);
    let ptr = list?.pop();
    if (ptr === undefined) {
      if (this.top + cls > MAX_BYTES) {
        throw new Error(
          `wasm: out of memory allocating ${fmtBytes(bytes)} for ${label} (${fmtBytes(this.counters.liveBytes)} live; WebAssembly memory is limited to 4 GiB)`,
        );
      }
      ptr = this.top;
      this.top += cls;
      const need = this.top - this.memory.buffer.byteLength;
      if (need > 0) {
        // Grow geometrically (at least 1/8 of the current size) so growth stays amortised O(1).
        const pages = Math.max(Math.ceil(need / PAGE), Math.ceil(this.memory.buffer.byteLength / PAGE / 8));
        const maxPages = Math.floor(MAX_BYTES / PAGE) + 1;
        const cur = this.memory.buffer.byteLength / PAGE;
        try {
          this.memory.grow(Math.min(pages, maxPages - cur));
        } catch {
          this.top -= cls;
          throw new Error(`wasm: out of memory allocating ${fmtBytes(bytes)} for ${label} (the host refused to grow WebAssembly memory beyond ${fmtBytes(this.memory.buffer.byteLength)})`);
        }
      }
    }
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
    let list = this.free_.get(b.cls);
    if (!list) this.free_.set(b.cls, (list = []));
    list.push(b.ptr);
  }

  upload(buf: Buf, data: Float32Array | Int32Array | Uint8Array): void {
    const b = buf as WasmBuf;
    if (data.byteLength > b.bytes) throw new Error(`wasm: upload of ${data.byteLength} bytes into '${b.label}' (${b.bytes} bytes)`);
    new Uint8Array(this.memory.buffer, b.ptr, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  run(k: KernelSpec, params: Record<string, number>, inputs: readonly Buf[], outputs: readonly Buf[]): void {
    this.check();
    const fn = this.fns.get(k.name);
    if (!fn) throw new Error(`wasm: no kernel '${k.name}'`);
    if (inputs.length !== k.inputs.length || outputs.length !== k.outputs.length) {
      throw new Error(`wasm: ${k.name} takes ${k.inputs.length} inputs and ${k.outputs.length} outputs, got ${inputs.length} and ${outputs.length}`);
    }
    const args: number[] = [];
    for (const b of inputs) args.push((b as WasmBuf).ptr);
    for (const b of outputs) args.push((b as WasmBuf).ptr);
    for (const [p] of k.params) {
      const v = params[p];
      if (typeof v !== 'number') throw new Error(`wasm: ${k.name} is missing param '${p}'`);
      args.push(v);
    }
    this.counters.dispatches++;
    fn(...args);
  }

  flush(): void {}

  async read(buf: Buf, bytes = buf.bytes): Promise<ArrayBuffer> {
    this.check();
    const b = buf as WasmBuf;
    this.counters.readbacks++;
    return this.memory.buffer.slice(b.ptr, b.ptr + bytes);
  }

  async sync(): Promise<void> {}

  /** @internal Direct view of a buffer's bytes (tests and optimizer internals on wasm only). */
  view(buf: Buf): Uint8Array {
    const b = buf as WasmBuf;
    return new Uint8Array(this.memory.buffer, b.ptr, b.bytes);
  }

  dispose(): void {
    this.disposed = true;
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

registerBackend('wasm', () => WasmBackend.create());
