// The shared check harness: seeded inputs, an engine runner that also checks for leaks, tolerance
// comparison with failure reports that say where to look, and finite differences on the float64
// references.
//
// Tolerance rule: |engine − ref| ≤ atol + rtol·scale, where scale is Σ|terms| of that element when
// the reference provides it (results near 0 through cancellation would break a plain relative test),
// else |ref|. Chosen per op family in tests/ops/*.test.ts; the reasons are written there.

import { expect } from 'vitest';
import { Generator, memory, setBackend, tensor, type BackendName, type Tensor } from '../engine/index.js';
import { env as platformEnv } from './platform.js';

/** Backends the op suites run on: PUGD_TEST_BACKENDS=wasm,webgpu, default wasm (in Node and in browsers). */
export function testBackends(): BackendName[] {
  const env = platformEnv('PUGD_TEST_BACKENDS');
  const list = (env ? env.split(',') : ['wasm']).map((s) => s.trim()).filter(Boolean);
  return list as BackendName[];
}

export async function useBackend(name: BackendName): Promise<void> {
  await setBackend(name);
}

/** Seeded f32 values, with their exact f64 copies for the reference. */
export function randData(gen: Generator, n: number, opts: { lo?: number; hi?: number; awayFrom?: number; gap?: number } = {}) {
  const lo = opts.lo ?? -1;
  const hi = opts.hi ?? 1;
  const f32 = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = lo + (hi - lo) * gen.uniform();
    // Keep away from kinks (relu at 0, max-pool ties) so gradients are defined.
    if (opts.awayFrom !== undefined && Math.abs(v - opts.awayFrom) < (opts.gap ?? 0.05)) v += v >= opts.awayFrom ? opts.gap ?? 0.05 : -(opts.gap ?? 0.05);
    f32[i] = v;
  }
  return { f32, f64: Float64Array.from(f32) };
}

export interface Input {
  data: Float32Array;
  shape: number[];
  grad?: boolean;
}

export interface RunResult {
  y: Float32Array;
  shape: readonly number[];
  grads: (Float32Array | null)[];
}

/**
 * Runs `f` on fresh tensors, backpropagates `dy` (if given), reads the output and gradients, disposes
 * everything and asserts that no tensor handle or byte leaked.
 */
export async function runOp(inputs: Input[], f: (ts: Tensor[]) => Tensor, dy?: Float32Array): Promise<RunResult> {
  const before = memory();
  const ts = inputs.map((i) => tensor(i.data, i.shape, { requiresGrad: !!i.grad }));
  const y = f(ts);
  const out = await y.toArray();
  const shape = y.shape;
  const grads: (Float32Array | null)[] = [];
  if (dy) {
    const dyT = tensor(dy, [...y.shape]);
    y.backward(dyT);
    dyT.dispose();
    for (const t of ts) grads.push(t.grad ? await t.grad.toArray() : null);
  }
  y.dispose();
  for (const t of ts) t.dispose();
  const after = memory();
  expect(after.liveTensors, 'leaked tensor handles').toBe(before.liveTensors);
  expect(after.liveBytes, 'leaked bytes').toBe(before.liveBytes);
  return { y: out, shape, grads };
}

function coordOf(i: number, shape?: readonly number[]): string {
  if (!shape || shape.length === 0) return `${i}`;
  const c: number[] = [];
  let r = i;
  for (let k = shape.length - 1; k >= 0; k--) {
    c.unshift(r % shape[k]);
    r = Math.floor(r / shape[k]);
  }
  return `[${c.join(',')}]`;
}

/** Asserts elementwise closeness; on failure reports the worst element (as coordinates) and the first mismatches. */
export function expectClose(
  label: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: { atol?: number; rtol?: number; scale?: ArrayLike<number>; shape?: readonly number[] } = {},
): void {
  const atol = opts.atol ?? 1e-6;
  const rtol = opts.rtol ?? 1e-5;
  if (actual.length !== expected.length) throw new Error(`${label}: length ${actual.length} vs expected ${expected.length}`);
  let bad = 0;
  let worst = -1;
  let worstRatio = 0;
  const firsts: string[] = [];
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const s = opts.scale ? opts.scale[i] : Math.abs(e);
    const tol = atol + rtol * s;
    const err = Math.abs(a - e);
    const ok = err <= tol || (Number.isNaN(a) && Number.isNaN(e)) || (a === e);
    if (!ok) {
      bad++;
      const ratio = Number.isFinite(err) ? err / tol : Infinity;
      if (ratio > worstRatio || worst < 0) {
        worstRatio = ratio;
        worst = i;
      }
      if (firsts.length < 5) firsts.push(`${coordOf(i, opts.shape)}: got ${a}, expected ${e} (tol ${tol.toExponential(2)})`);
    }
  }
  if (bad > 0) {
    const w = worst;
    throw new Error(
      `${label}: ${bad}/${actual.length} elements out of tolerance (atol ${atol}, rtol ${rtol}); worst at ${coordOf(w, opts.shape)}: ` +
        `got ${actual[w]}, expected ${expected[w]} (|err| ${Math.abs(actual[w] - expected[w]).toExponential(3)}, ${worstRatio.toFixed(1)}× tol)\n  first: ${firsts.join('\n         ')}`,
    );
  }
}

/**
 * Central finite differences of L(x) = Σ dy·f(x) on a float64 function, compared with the analytic
 * gradient the reference gives. Checks every element of small inputs (at most `maxElems` per input).
 */
export function fdCheck(
  label: string,
  f: (xs: Float64Array[]) => Float64Array,
  xs: Float64Array[],
  dy: Float64Array,
  analytic: (Float64Array | null)[],
  opts: { h?: number; tol?: number; maxElems?: number } = {},
): void {
  const h = opts.h ?? 1e-6;
  const tol = opts.tol ?? 1e-6;
  const L = (v: Float64Array[]) => {
    const y = f(v);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += dy[i] * y[i];
    return s;
  };
  xs.forEach((x, k) => {
    const g = analytic[k];
    if (!g) return;
    const n = Math.min(x.length, opts.maxElems ?? 256);
    const num = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const orig = x[i];
      x[i] = orig + h;
      const lp = L(xs);
      x[i] = orig - h;
      const lm = L(xs);
      x[i] = orig;
      num[i] = (lp - lm) / (2 * h);
    }
    expectClose(`${label}: finite differences vs reference gradient of input ${k}`, g.subarray(0, n), num, { atol: tol, rtol: tol });
  });
}
