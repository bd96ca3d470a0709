// Host side of the data module (build/data.wasm): instantiation, the error path, and one helper that
// copies an input into the module's arena, runs a decoder and turns any failure into a DecodeError.
//
// One instance per thread (the main thread and each loader worker), created lazily. `decodeImage`
// must be synchronous, so the instance is created synchronously when possible (Node, workers);
// browsers refuse synchronous compilation of modules this size on the main thread, where
// `await datasets.ready()` compiles it first.
//
// Safety: the module reports bad input through the `env.fail` import, which throws here and unwinds
// the WASM stack. A trap (a decoder bug) becomes a DecodeError too. Every call starts by resetting the
// arena, so a call that failed, trapped or succeeded leaves the instance ready for the next one.


/** Bad input: names the format, the file (when known), the reason and the byte offset (when known). */
export class DecodeError extends Error {
  constructor(
    readonly format: string,
    readonly reason: string,
    readonly file?: string,
    readonly offset?: number,
  ) {
    super(`${file ? `${file}: ` : ''}${format}: ${reason}${offset !== undefined && offset >= 0 ? ` (at byte ${offset})` : ''}`);
    this.name = 'DecodeError';
  }
}

/** Thrown by the `fail` import; carries the module's message. */
class Fail {
  constructor(readonly reason: string, readonly offset: number) {}
}

export interface DataExports {
  memory: WebAssembly.Memory;
  arena_reset(): void;
  arena_alloc(n: number): number;
  arena_used(): number;
  set_limits(arenaBytes: number, maxPixels: number): void;
  result(i: number): number;
  crc32(crc: number, p: number, n: number): number;
  inflate_raw(p: number, n: number, hint: number, limit: number): void;
  inflate_zlib(p: number, n: number, hint: number, limit: number): void;
  gunzip(p: number, n: number, hint: number, limit: number): void;
  jpeg_decode(p: number, n: number): void;
  png_decode(p: number, n: number): void;
  tar_index(p: number, n: number): void;
  idx_parse(p: number, n: number): void;
  cifar_parse(p: number, n: number, labelBytes: number): void;
  augment_one(...args: number[]): void;
  trap_for_tests(): void;
}

/** Limits every decode runs under (the "no trust in header fields" caps). */
export const limits = {
  /** Bytes the module's arena may use in one call (inputs, outputs, scratch). */
  arenaBytes: 2 * 1024 * 1024 * 1024 - 65536,
  /** Largest image, in pixels (a header claiming more is refused before any allocation). */
  maxPixels: 1 << 26,
};

let compiled: WebAssembly.Module | null = null;
let current: DataInstance | null = null;
// Where the module's bytes come from: datasets/embedded.ts (the base64 in engine/generated/assets.ts).
// Workers never set it: they receive the compiled module, so their script carries no WASM.
let moduleBytes: (() => Uint8Array<ArrayBuffer>) | null = null;

export function setModuleBytes(fn: () => Uint8Array<ArrayBuffer>): void {
  moduleBytes = fn;
}

function bytesOfModule(): Uint8Array<ArrayBuffer> {
  if (!moduleBytes) throw new Error('datasets: the data module is not available here (import it through datasets/index.js)');
  return moduleBytes();
}

/** Compiles the data module (async, allowed everywhere). Call once before decoding in a browser page. */
export async function ready(): Promise<void> {
  if (!compiled) compiled = await WebAssembly.compile(bytesOfModule());
  if (!current) current = new DataInstance(await WebAssembly.instantiate(compiled, imports()));
}

/** The compiled module (for workers, which receive it by message). */
export function dataModule(): WebAssembly.Module {
  if (!compiled) {
    try {
      compiled = new WebAssembly.Module(bytesOfModule());
    } catch (e) {
      throw new Error(`datasets: could not compile the data module synchronously (${(e as Error).message}); in a browser page, call \`await datasets.ready()\` first`);
    }
  }
  return compiled;
}

/** Workers: use the module the main thread sent. */
export function useModule(m: WebAssembly.Module): void {
  compiled = m;
  current = null;
}

let failTarget: DataInstance | null = null;

function imports(): WebAssembly.Imports {
  return {
    env: {
      fail(msg: number, offset: number, a: number, b: number) {
        throw new Fail(failTarget ? failTarget.readString(msg, a, b) : 'decoder error', offset);
      },
      abort() {
        throw new Fail('decoder aborted', -1);
      },
    },
  };
}

export class DataInstance {
  readonly ex: DataExports;
  private arenaBytes = -1;
  private maxPixels = -1;
  constructor(instance: WebAssembly.Instance) {
    this.ex = instance.exports as unknown as DataExports;
    this.syncLimits();
  }

  private syncLimits(): void {
    if (this.arenaBytes !== limits.arenaBytes || this.maxPixels !== limits.maxPixels) {
      this.ex.set_limits(limits.arenaBytes >>> 0, limits.maxPixels >>> 0);
      this.arenaBytes = limits.arenaBytes;
      this.maxPixels = limits.maxPixels;
    }
  }

  /** A static AssemblyScript string (UTF-16, byte length in the 4 bytes before it), placeholders filled. */
  readString(ptr: number, a: number, b: number): string {
    const mem = this.ex.memory.buffer;
    // Messages are short static strings; anything else means the module's static data was damaged.
    const len = ptr >= 4 && ptr % 2 === 0 && ptr < mem.byteLength ? new Uint32Array(mem.slice(ptr - 4, ptr))[0] : -1;
    if (len < 0 || len > 512 || len % 2 !== 0 || ptr + len > mem.byteLength) return `internal decoder error (unreadable message at ${ptr})`;
    const s = String.fromCharCode(...new Uint16Array(mem, ptr, len >>> 1));
    return s.replaceAll('{a}', String(a)).replaceAll('{b}', String(b));
  }

  bytes(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.ex.memory.buffer, ptr, n);
  }

  /** Copies `data` into a fresh arena and runs `fn` on it; failures become DecodeErrors. */
  run<T>(format: string, file: string | undefined, data: Uint8Array | null, fn: (ptr: number, n: number) => T): T {
    failTarget = this;
    try {
      this.syncLimits();
      this.ex.arena_reset();
      let ptr = 0;
      const n = data ? data.byteLength : 0;
      if (data) {
        ptr = this.ex.arena_alloc(n);
        this.bytes(ptr, n).set(data);
      }
      return fn(ptr, n);
    } catch (e) {
      throw toDecodeError(e, format, file);
    }
  }

  /** Like run, for a caller that has already placed its inputs (keeps the arena as it is). */
  call<T>(format: string, file: string | undefined, fn: () => T): T {
    failTarget = this;
    try {
      return fn();
    } catch (e) {
      throw toDecodeError(e, format, file);
    }
  }
}

function toDecodeError(e: unknown, format: string, file: string | undefined): Error {
  if (e instanceof Fail) return new DecodeError(format, e.reason, file, e.offset);
  if (e instanceof WebAssembly.RuntimeError) {
    // A trap means a decoder bug met input it did not expect; the arena is reset by the next call.
    return new DecodeError(format, `internal decoder error (${e.message}) on this input`, file);
  }
  if (e instanceof RangeError && /memory/i.test(e.message)) {
    return new DecodeError(format, `out of memory (${e.message})`, file);
  }
  if (e instanceof DecodeError) return e;
  return e as Error;
}

/** This thread's instance. */
export function data(): DataInstance {
  if (!current) {
    const m = dataModule();
    try {
      current = new DataInstance(new WebAssembly.Instance(m, imports()));
    } catch (e) {
      throw new Error(`datasets: could not instantiate the data module synchronously (${(e as Error).message}); in a browser page, call \`await datasets.ready()\` first`);
    }
  }
  return current;
}

/** Drops this thread's instance when a large input grew its memory (WASM memory never shrinks). */
export function releaseIfLarge(bytes = 256 * 1024 * 1024): void {
  const nodeLike = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
  if (current && nodeLike && current.ex.memory.buffer.byteLength > bytes) current = null;
}
