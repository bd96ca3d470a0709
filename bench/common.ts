// Helpers shared by the benches: JSON lines, median timing, thread switching, sampled float64 checks.
// A bench validates its output once against a reference, then times; it never asserts a speed.

import { loadavg } from 'node:os';
import { getBackend, setBackend, setBackendLogger } from '../engine/index.js';
import type { WasmBackend } from '../engine/backends/wasm.js';

export const commit = process.env.PUGD_COMMIT ?? 'unknown';
export const quick = process.env.PUGD_BENCH_QUICK === '1';

/**
 * Prints one result line, with the commit and the 1-minute load average (these machines are shared:
 * a load above the core count means other work competed for the cores during the run).
 */
export function emit(row: Record<string, unknown>): void {
  console.log(JSON.stringify({ ...row, commit, load1: +loadavg()[0].toFixed(2) }));
}

/**
 * Median, minimum and all times (ms) of `reps` runs of `fn` after `warmup` runs. The median is the
 * figure of record; the minimum shows what the code does when no other process takes the cores.
 */
export async function timeit(fn: () => void | Promise<void>, reps: number, warmup = 1): Promise<{ median: number; min: number; times: number[] }> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  const s = [...times].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median, min: s[0], times };
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
  const b = getBackend();
  const all = b.info.threads ?? 1;
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
