// Helpers shared by the benches: one JSON line per measurement (with the commit, Node version and load
// average), median timing, thread switching, sampled float64 checks, the backend/adapter description.
// A bench validates its output once against a reference, then times; it never asserts a speed.

import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { getBackend, setBackend, setBackendLogger, tidy, noGrad, nn, type Tensor } from '../engine/index.js';
import type { WasmBackend } from '../engine/backends/wasm.js';

/** The commit under test: set by bench/run.mjs (with -dirty for uncommitted changes), else asked of git. */
export const commit: string = process.env.PUGD_COMMIT ?? gitCommit();
export const quick = process.env.PUGD_BENCH_QUICK === '1';

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/**
 * Prints one result line, with the commit, Node version and 1-minute load average (machines are often
 * shared: a load above the core count means other work competed for the cores during the run).
 */
export function emit(row: Record<string, unknown>): void {
  console.log(JSON.stringify({ ...row, commit, node: process.version, load1: +loadavg()[0].toFixed(2) }));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `fn` `warmup` times, then `reps` times, returning each timed run in ms. */
export async function timeRuns(fn: () => Promise<void>, warmup: number, reps: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * Median, minimum and all times (ms) of `reps` runs of `fn` after `warmup` runs. The median is the
 * figure of record; the minimum shows what the code does when no other process takes the cores.
 */
export async function timeit(fn: () => void | Promise<void>, reps: number, warmup = 1): Promise<{ median: number; min: number; times: number[] }> {
  const times = await timeRuns(async () => {
    await fn();
  }, warmup, reps);
  return { median: median(times), min: Math.min(...times), times };
}

/** `webgpu` + `google/swiftshader (fallback)`, or `wasm` + its description. */
export function backendDesc(): { backend: string; adapter: string } {
  const b = getBackend();
  const a = b.info.adapter;
  return { backend: b.name, adapter: a ? `${a.vendor}/${a.architecture}${a.isFallbackAdapter ? ' (fallback)' : ''}` : b.info.description };
}

/** The wasm backend with `threads` threads (the instance is shared, tensors survive the switch). */
export async function wasmWith(threads: number): Promise<WasmBackend> {
  setBackendLogger(null);
  await setBackend('wasm', { threads });
  return getBackend() as unknown as WasmBackend;
}

/** Thread counts to bench: 1 and the default (PUGD_THREADS or min(cores, 4)), without repeats. */
export async function threadCounts(): Promise<number[]> {
  setBackendLogger(null);
  await setBackend('wasm');
  const all = getBackend().info.threads ?? 1;
  return all > 1 ? [1, all] : [1];
}

/** Throws naming `what` unless |got − want| ≤ atol + rtol·scale for every sampled pair. */
export function checkClose(what: string, got: number[], want: number[], scale: number[], rtol = 1e-4, atol = 1e-5): void {
  for (let i = 0; i < got.length; i++) {
    const tol = atol + rtol * scale[i];
    if (!(Math.abs(got[i] - want[i]) <= tol)) {
      throw new Error(`${what}: sample ${i} is ${got[i]}, the float64 reference gives ${want[i]} (tolerance ${tol.toExponential(2)})`);
    }
  }
}

/**
 * One plain training step as the GPU benches time it: forward, softmax cross-entropy, backward,
 * p ← p − lr·g on every parameter (through Tensor.assign), then reading the loss (a sync, as
 * PyTorch's loss.item()). Throws on a non-finite loss.
 */
export function plainSgdStep(model: { forward(x: Tensor): Tensor; parameters(): Tensor[] }, x: Tensor, labels: Tensor, lr: number, what = 'pugd'): () => Promise<void> {
  const params = model.parameters();
  return async () => {
    const loss = tidy(() => nn.functional.crossEntropy(model.forward(x), labels));
    loss.backward();
    noGrad(() => {
      for (const p of params) {
        const u = tidy(() => p.sub(p.grad!.mul(lr)));
        p.assign(u);
        u.dispose();
        p.grad = null;
      }
    });
    const v = await loss.item();
    loss.dispose();
    if (!Number.isFinite(v)) throw new Error(`${what} loss is ${v}`);
  };
}
