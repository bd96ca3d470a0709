// Creating tensors from host values or on the device.

import { getBackend } from './backend.js';
import { Storage, Tensor, type DType } from './tensor.js';
import { checkShape, shapeStr, sizeOf, type Shape } from './shape.js';
import { full } from './ops/index.js';
import { globalGenerator, type Generator } from './random.js';

export interface TensorOptions {
  requiresGrad?: boolean;
  dtype?: DType;
}

/**
 * A tensor from host values (row-major). `shape` defaults to `[values.length]`.
 *
 * @example
 *   const w = tensor([1, -2], [1, 2], { requiresGrad: true });
 *   const y = tensor([3, 1, 4], [3], { dtype: 'i32' });
 */
export function tensor(values: ArrayLike<number>, shape?: Shape, opts: TensorOptions = {}): Tensor {
  if (values === null || typeof values !== 'object' || typeof (values as ArrayLike<number>).length !== 'number') {
    throw new Error(`tensor: values must be an array or typed array of numbers, got ${values === null ? 'null' : typeof values}`);
  }
  const s = shape ?? [values.length];
  checkShape('tensor', s);
  const n = sizeOf(s);
  if (values.length !== n) {
    throw new Error(`tensor: ${values.length} values do not fill shape ${shapeStr(s)} (${n} elements)`);
  }
  if (!ArrayBuffer.isView(values)) {
    // A plain array may hold anything; Float32Array.from would turn 'a' and undefined into NaN silently.
    for (let i = 0; i < n; i++) {
      const v = values[i] as unknown;
      if (typeof v !== 'number') throw new Error(`tensor: value ${typeof v === 'string' ? `'${v}'` : String(v)} at index ${i} is not a number (${v === null ? 'null' : typeof v})`);
    }
  }
  const dtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'i32') throw new Error(`tensor: dtype must be 'f32' or 'i32', got '${String(dtype)}'`);
  let data: Float32Array | Int32Array;
  const range = { min: Infinity, minAt: -1, max: -Infinity, maxAt: -1 };
  if (dtype === 'f32') {
    data = values instanceof Float32Array ? values : Float32Array.from(values);
  } else {
    data = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new Error(`tensor: value ${v} at index ${i} is not a 32-bit integer (dtype i32)`);
      data[i] = v;
      if (v < range.min) (range.min = v), (range.minAt = i);
      if (v > range.max) (range.max = v), (range.maxAt = i);
    }
  }
  const backend = getBackend();
  const buf = backend.alloc(n * 4, `tensor ${dtype} ${shapeStr(s)}`);
  if (n > 0) backend.upload(buf, data);
  const storage = new Storage(backend, buf, dtype, n);
  if (dtype === 'i32' && n > 0) storage.hostRange = range; // lets label checks avoid a device read
  const t = new Tensor(storage, s, dtype);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function filled(shape: Shape, value: number, opts: TensorOptions, op: string): Tensor {
  checkShape(op, shape);
  const t = full(shape, value, { dtype: opts.dtype });
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** A tensor of zeros. */
export function zeros(shape: Shape, opts: TensorOptions = {}): Tensor {
  return filled(shape, 0, opts, 'zeros');
}

/** A tensor of ones. */
export function ones(shape: Shape, opts: TensorOptions = {}): Tensor {
  return filled(shape, 1, opts, 'ones');
}

export interface RandomOptions {
  requiresGrad?: boolean;
  mean?: number;
  std?: number;
  /** Draw from this generator instead of the global one (see `manualSeed`). */
  generator?: Generator;
}

/** Normal samples (mean 0, std 1 by default), drawn on the host from the seeded generator. */
export function randn(shape: Shape, opts: RandomOptions = {}): Tensor {
  checkShape('randn', shape);
  const g = opts.generator ?? globalGenerator;
  const mean = opts.mean ?? 0;
  const std = opts.std ?? 1;
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = mean + std * g.normal();
  return tensor(data, shape, { requiresGrad: opts.requiresGrad });
}

/** Uniform samples in [low, high), drawn on the host from the seeded generator. */
export function rand(shape: Shape, opts: { low?: number; high?: number; requiresGrad?: boolean; generator?: Generator } = {}): Tensor {
  checkShape('rand', shape);
  const g = opts.generator ?? globalGenerator;
  const lo = opts.low ?? 0;
  const hi = opts.high ?? 1;
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * g.uniform();
  return tensor(data, shape, { requiresGrad: opts.requiresGrad });
}
