// Shared by the benches: timing (median of N after warm-up), one JSON line per measurement, the git
// commit, and the backend/adapter description. Benches never assert speed; targets live in the issues.
import { execFileSync } from 'node:child_process';
import { getBackend } from '../engine/index.js';

export function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
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

export function emit(obj: Record<string, unknown>): void {
  console.log(JSON.stringify({ ...obj, commit: commit(), node: process.version }));
}

/** `webgpu (google / swiftshader, fallback adapter; …)` or `wasm (…)`. */
export function backendDesc(): { backend: string; adapter: string } {
  const b = getBackend();
  const a = b.info.adapter;
  return { backend: b.name, adapter: a ? `${a.vendor}/${a.architecture}${a.isFallbackAdapter ? ' (fallback)' : ''}` : b.info.description };
}
