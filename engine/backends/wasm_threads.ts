// Worker threads for the WASM backend: a fixed pool of workers, each with its own instance of the
// threads build of the kernels (build/kernels-mt.wasm) over the backend's shared WebAssembly.Memory.
//
// Protocol (one control block, a SharedArrayBuffer, Int32 slots below): a call is cut into n shares,
// the n thread indices the kernel was written for (`set_thread(share, n, scratch)` makes an instance
// compute share `share` of n, see assembly/parallel.ts). The caller writes the kernel index, n, the
// arguments and the scratch arena, opens n claim slots, bumps SEQ and notifies. Any thread may run any
// share: it claims it with a compare-and-swap, runs it with its own scratch block and counts it done.
// The caller runs share 0 and then every share no worker has claimed yet, and waits only for shares
// in progress. So a worker the OS schedules late (a busy machine, a busy browser) costs nothing: its
// shares are done by the caller. Whoever runs a share, it computes the same outputs with the same
// arithmetic (shares split outputs, never a reduction), so results do not depend on the thread count
// or on who ran what.
//
// Workers: Node's worker_threads (created with `eval`, unref'd so they never keep a process alive) or
// Web Workers from a Blob URL (browsers, only when `crossOriginIsolated`, which SharedArrayBuffer
// needs). The worker code is the function `workerBody` below, shipped as its source text, so the
// bundle stays one file. Nothing can hang: a worker that claimed a share and did not finish it within
// ACK_TIMEOUT_MS is reported with an error (the pool is then dropped), and a kernel that fails on any
// thread is rethrown on the caller with that thread's message.
//
// Not handled: more than MAX_ARGS kernel arguments; resizing a pool (a new pool replaces it).

const SEQ = 0;
const DONE = 1; // shares finished in the current call
const FN = 2;
const NSHARES = 3;
const NARGS = 4;
const ERROR = 5; // 1 + the share that failed first (0: none)
const QUIT = 6;
const ERROR_THREAD = 7; // the thread that ran it
const CLAIM = 16; // CLAIM + share: 0 free, 1 + thread that claimed it, −1 not part of this call
const FINISHED = 80; // FINISHED + share: 1 once done (diagnostics)
const CTRL_SLOTS = 256;
const ARGS_OFFSET = 1024; // = CTRL_SLOTS·4: Float64 args, then scratch base and per-thread bytes
const MAX_ARGS = 32;
const MSG_OFFSET = 2048;
const MSG_BYTES = 2048;
const CTRL_BYTES = MSG_OFFSET + MSG_BYTES;
/** Upper bound on the number of threads (claim slots). */
export const MAX_THREADS = 64;
const ACK_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 30_000;

interface InitMessage {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctrl: SharedArrayBuffer;
  tid: number;
  names: string[];
}

/**
 * The worker's whole program. It runs from its source text (`String(workerBody)`), so it must not
 * refer to anything outside itself; `post` and `onInit` adapt it to Node or the browser.
 */
function workerBody(post: (m: unknown) => void, onInit: (h: (m: InitMessage) => void) => void): void {
  onInit((init) => {
    let ex: Record<string, unknown>;
    try {
      const inst = new WebAssembly.Instance(init.module, {
        env: {
          memory: init.memory,
          abort() {
            throw new Error('wasm kernel aborted');
          },
        },
      });
      ex = inst.exports as Record<string, unknown>;
    } catch (e) {
      post({ error: `could not instantiate the kernels in a worker: ${(e as Error).message}` });
      return;
    }
    const fns = init.names.map((n) => ex[n] as (...a: number[]) => void);
    const setThread = ex.set_thread as (share: number, n: number, scratch: number) => void;
    // The numbers mirror the constants at the top of this file (CTRL_SLOTS 256, ARGS_OFFSET 1024,
    // MAX_ARGS + 2 = 34, MSG_OFFSET 2048, MSG_BYTES 2048; slots SEQ 0, DONE 1, FN 2, NSHARES 3,
    // NARGS 4, ERROR 5, QUIT 6, ERROR_THREAD 7, CLAIM 16, FINISHED 80, MAX_THREADS 64): this function
    // cannot see them.
    const ctrl = new Int32Array(init.ctrl, 0, 256);
    const args = new Float64Array(init.ctrl, 1024, 34);
    const msg = new Uint8Array(init.ctrl, 2048, 2048);
    const tid = init.tid;
    /** Runs share v if this thread wins its claim; the job's fields are read after the claim. */
    const tryShare = (v: number): boolean => {
      if (Atomics.compareExchange(ctrl, 16 + v, 0, tid + 1) !== 0) return false;
      const n = Atomics.load(ctrl, 3);
      try {
        const na = ctrl[4];
        const a: number[] = new Array(na);
        for (let i = 0; i < na; i++) a[i] = args[i];
        setThread(v, n, args[32] + tid * args[33]);
        fns[ctrl[2]](...a);
      } catch (e) {
        if (Atomics.compareExchange(ctrl, 5, 0, v + 1) === 0) {
          ctrl[7] = tid;
          const bytes = new TextEncoder().encode(String((e as Error)?.message ?? e)).subarray(0, 2047);
          msg.fill(0);
          msg.set(bytes);
        }
      } finally {
        Atomics.store(ctrl, 80 + v, 1);
        if (Atomics.add(ctrl, 1, 1) + 1 === n) Atomics.notify(ctrl, 1);
      }
      return true;
    };
    // Read the job counter before saying ready: the first job may be posted right after.
    let seen = Atomics.load(ctrl, 0);
    post({ ready: true });
    for (;;) {
      Atomics.wait(ctrl, 0, seen);
      const seq = Atomics.load(ctrl, 0);
      if (seq === seen) continue;
      seen = seq;
      if (Atomics.load(ctrl, 6) !== 0) break;
      // Own share first (so shares spread over threads), then any other still free.
      if (tid < 64 && Atomics.load(ctrl, 16 + tid) === 0) tryShare(tid);
      for (let v = 0; v < 64; v++) {
        const c = Atomics.load(ctrl, 16 + v);
        if (c < 0) break;
        if (c === 0) tryShare(v);
      }
    }
  });
}

/** What creating workers needs from the host: Node's worker_threads or the browser's Worker. */
interface WorkerHandle {
  ready: Promise<void>;
  terminate(): void;
}

const dynamicImport = (spec: string): Promise<unknown> => import(/* @vite-ignore */ spec);

function isNode(): boolean {
  return typeof process !== 'undefined' && !!(process as { versions?: { node?: string } }).versions?.node;
}

/** Why this environment cannot run worker threads over shared memory, or null if it can. */
export function threadsUnavailableReason(): string | null {
  if (!isNode()) {
    // Browsers hide SharedArrayBuffer unless the page is cross-origin isolated: say what to change.
    if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== true) {
      return 'the page is not crossOriginIsolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
    }
    if (typeof Worker === 'undefined') return 'Web Workers are not available';
  }
  if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is not available';
  if (typeof Atomics === 'undefined') return 'Atomics is not available';
  return null;
}

/** Cores the host reports (Node: os.availableParallelism; browsers: navigator.hardwareConcurrency). */
export async function availableCores(): Promise<number> {
  if (isNode()) {
    try {
      const os = (await dynamicImport('node:os')) as { availableParallelism?: () => number; cpus: () => unknown[] };
      return os.availableParallelism ? os.availableParallelism() : os.cpus().length;
    } catch {
      return 1;
    }
  }
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && n >= 1 ? n : 1;
}

function readyPromise(on: (ok: () => void, fail: (why: string) => void) => void, tid: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wasm: worker thread ${tid} did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    on(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (why) => {
        clearTimeout(timer);
        reject(new Error(`wasm: worker thread ${tid} failed to start: ${why}`));
      },
    );
  });
}

async function spawn(init: InitMessage): Promise<WorkerHandle> {
  const body = String(workerBody);
  if (isNode()) {
    const wt = (await dynamicImport('node:worker_threads')) as typeof import('node:worker_threads');
    // import() works whether Node evaluates this as CommonJS or as a module (--input-type=module is
    // inherited by workers); the init message waits in the port until the listener is attached.
    const src =
      `import('node:worker_threads').then(({ parentPort }) =>\n` +
      `  (${body})((m) => parentPort.postMessage(m), (h) => parentPort.once('message', h)));\n`;
    const w = new wt.Worker(src, { eval: true, name: `pugd-wasm-${init.tid}` });
    const ready = readyPromise((ok, fail) => {
      w.on('message', (m: { ready?: boolean; error?: string }) => (m.ready ? ok() : fail(m.error ?? 'unknown message')));
      w.once('error', (e) => fail(e.message));
      w.once('exit', (code) => fail(`exited with code ${code}`));
    }, init.tid);
    w.postMessage(init);
    await ready;
    w.removeAllListeners('message');
    w.removeAllListeners('exit');
    w.unref();
    return { ready, terminate: () => void w.terminate() };
  }
  const src = `(${body})((m) => postMessage(m), (h) => { onmessage = (e) => h(e.data); });\n`;
  const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
  const w = new Worker(url, { name: `pugd-wasm-${init.tid}` });
  const ready = readyPromise((ok, fail) => {
    w.onmessage = (e: MessageEvent) => (e.data?.ready ? ok() : fail(e.data?.error ?? 'unknown message'));
    w.onerror = (e: ErrorEvent) => fail(e.message);
  }, init.tid);
  w.postMessage(init);
  try {
    await ready;
  } finally {
    URL.revokeObjectURL(url);
  }
  return { ready, terminate: () => w.terminate() };
}

/** Whether this thread may block in Atomics.wait (not on a browser's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

export class ThreadPool {
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly msg: Uint8Array;
  private readonly workers: WorkerHandle[] = [];
  private seq = 0;
  private readonly block = canBlock();
  /** Set when a worker stopped answering; the backend then runs single-threaded. */
  broken: string | null = null;

  private constructor(
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    private readonly names: string[],
    private readonly sab: SharedArrayBuffer,
  ) {
    this.ctrl = new Int32Array(sab, 0, CTRL_SLOTS);
    this.args = new Float64Array(sab, ARGS_OFFSET, MAX_ARGS + 2);
    this.msg = new Uint8Array(sab, MSG_OFFSET, MSG_BYTES);
  }

  /**
   * Starts a pool with `workers` threads besides the caller's (0 = none). A pool never changes size:
   * to change the thread count, dispose it and start another (its control block is fresh, so a
   * stopping worker can never pick up a later job).
   */
  static async start(module: WebAssembly.Module, memory: WebAssembly.Memory, names: string[], workers: number): Promise<ThreadPool> {
    if (workers + 1 > MAX_THREADS) throw new Error(`wasm: at most ${MAX_THREADS} threads are supported, asked for ${workers + 1}`);
    const pool = new ThreadPool(module, memory, names, new SharedArrayBuffer(CTRL_BYTES));
    const started: Promise<WorkerHandle>[] = [];
    for (let tid = 1; tid <= workers; tid++) started.push(spawn({ module, memory, ctrl: pool.sab, tid, names }));
    const results = await Promise.allSettled(started);
    for (const r of results) if (r.status === 'fulfilled') pool.workers.push(r.value);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) {
      pool.dispose();
      throw failed.reason;
    }
    return pool;
  }

  /** Worker threads (the calling thread is thread 0 and is not counted). */
  get size(): number {
    return this.workers.length;
  }

  /**
   * Runs kernel `fn` cut into `nshares` shares (≤ size + 1) over this thread and the workers;
   * `runShare(v)` runs share v on this thread. Returns when every share is done; throws the first
   * failure, naming the share's thread.
   */
  run(fn: number, name: string, args: readonly number[], nshares: number, scratch: number, perThread: number, runShare: (v: number) => void): void {
    if (args.length > MAX_ARGS) throw new Error(`wasm: ${name} has ${args.length} arguments, the thread pool passes at most ${MAX_ARGS}`);
    const c = this.ctrl;
    // The job's fields first, then the claims that give access to them, then the wake-up.
    for (let i = 0; i < args.length; i++) this.args[i] = args[i];
    this.args[MAX_ARGS] = scratch;
    this.args[MAX_ARGS + 1] = perThread;
    c[FN] = fn;
    c[NARGS] = args.length;
    Atomics.store(c, NSHARES, nshares);
    Atomics.store(c, ERROR, 0);
    Atomics.store(c, DONE, 0);
    for (let v = 0; v < MAX_THREADS; v++) {
      Atomics.store(c, FINISHED + v, 0);
      Atomics.store(c, CLAIM + v, v < nshares ? 0 : -1);
    }
    Atomics.store(c, SEQ, (this.seq = (this.seq + 1) | 0));
    Atomics.notify(c, SEQ);
    for (let v = 0; v < nshares; v++) {
      if (Atomics.compareExchange(c, CLAIM + v, 0, 1) !== 0) continue;
      try {
        runShare(v);
      } catch (e) {
        if (Atomics.compareExchange(c, ERROR, 0, v + 1) === 0) {
          c[ERROR_THREAD] = 0;
          this.msg.fill(0);
          this.msg.set(new TextEncoder().encode((e as Error)?.message ?? String(e)).subarray(0, MSG_BYTES - 1));
        }
      } finally {
        Atomics.store(c, FINISHED + v, 1);
        Atomics.add(c, DONE, 1);
      }
    }
    this.join(nshares, name);
    const failed = Atomics.load(c, ERROR);
    if (failed) {
      const end = this.msg.indexOf(0);
      const text = new TextDecoder().decode(this.msg.slice(0, end < 0 ? MSG_BYTES : end));
      const who = c[ERROR_THREAD] === 0 ? 'the calling thread' : `worker thread ${c[ERROR_THREAD]}`;
      throw new Error(`wasm: ${name} failed on ${who} (share ${failed - 1} of ${nshares}): ${text}`);
    }
  }

  /** Waits until all shares are done (only workers that claimed one can still be running). */
  private join(nshares: number, name: string): void {
    const c = this.ctrl;
    let t0 = Date.now();
    let last = -1;
    let spins = 0;
    for (;;) {
      const d = Atomics.load(c, DONE);
      if (d === nshares) return;
      if (d !== last) {
        last = d;
        t0 = Date.now();
      }
      if (this.block) Atomics.wait(c, DONE, d, 1000);
      else if (++spins % 4096 !== 0) continue;
      if (Date.now() - t0 > ACK_TIMEOUT_MS) {
        const stuck: number[] = [];
        for (let v = 0; v < nshares; v++) {
          const who = Atomics.load(c, CLAIM + v);
          if (who > 1 && Atomics.load(c, FINISHED + v) === 0) stuck.push(who - 1);
        }
        this.broken = `worker thread(s) ${stuck.join(', ')} stopped responding`;
        this.stopAll();
        throw new Error(`wasm: ${name}: ${this.broken} (no progress within ${ACK_TIMEOUT_MS / 1000} s); continuing single-threaded`);
      }
    }
  }

  private stopAll(): void {
    if (this.workers.length === 0) return;
    for (let v = 0; v < MAX_THREADS; v++) Atomics.store(this.ctrl, CLAIM + v, -1);
    Atomics.store(this.ctrl, QUIT, 1);
    Atomics.store(this.ctrl, SEQ, (this.seq = (this.seq + 1) | 0));
    Atomics.notify(this.ctrl, SEQ);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }

  /** Stops the workers. The pool is unusable afterwards. */
  dispose(): void {
    this.stopAll();
  }
}
