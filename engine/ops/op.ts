// What every op file uses: allocate outputs beside the inputs, and dispatch a kernel on the backend
// that holds them. Ops are backend-agnostic; backends implement kernels, never ops.

import type { KernelParams, KernelSpec } from '../kernel.js';
import { empty, Tensor, type DType } from '../tensor.js';
import { shapeStr, type Shape } from '../shape.js';
import { getBackend, type Backend } from '../backend.js';

/** The backend all `inputs` live on; throws naming the op if they are disposed or on different backends. */
export function backendOf(op: string, inputs: readonly (Tensor | null | undefined)[]): Backend {
  let b: Backend | null = null;
  for (const t of inputs) {
    if (!t) continue;
    if (!(t instanceof Tensor)) throw new Error(`${op}: expected a Tensor, got ${typeof t}`);
    t.assertLive(op);
    if (b && t.backend !== b) {
      throw new Error(`${op}: inputs live on different backends (${b.name} and ${t.backend.name}); move them with the same backend active`);
    }
    b = t.backend;
  }
  return b ?? getBackend();
}

/** Allocates an op's output on `backend`, labelled for out-of-memory messages. */
export function output(op: string, shape: Shape, backend: Backend, dtype: DType = 'f32'): Tensor {
  return empty(shape, dtype, op, backend);
}

/** Enqueues kernel `k` with `params` over tensors (inputs read, outputs written). */
export function dispatch<K extends KernelSpec>(
  k: K,
  params: KernelParams<K>,
  inputs: readonly Tensor[],
  outputs: readonly Tensor[],
): void {
  const backend = (inputs[0] ?? outputs[0]).backend;
  backend.run(
    k,
    params as Record<string, number>,
    inputs.map((t) => t.storage.buf),
    outputs.map((t) => t.storage.buf),
  );
}

/** Throws `${op}: ${what}` with the shapes of the named tensors appended. */
export function shapeError(op: string, what: string, named: Record<string, Shape>): Error {
  const parts = Object.entries(named).map(([k, s]) => `${k} ${shapeStr(s)}`);
  return new Error(`${op}: ${what} (${parts.join(', ')})`);
}

export function requireF32(op: string, name: string, t: Tensor): void {
  if (t.dtype !== 'f32') throw new Error(`${op}: ${name} must be f32, got ${t.describe()}`);
}

export function requireRank(op: string, name: string, t: Tensor, rank: number, letters: string): void {
  if (t.rank !== rank) {
    throw new Error(`${op}: ${name} must be ${rank}-D ${letters}, got shape ${shapeStr(t.shape)}`);
  }
}
