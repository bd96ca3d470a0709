// Shape helpers shared by every op, both backends and the tests. Tensors are dense, contiguous,
// row-major (NCHW for images); a shape is a plain number[].

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Row-major strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Throws unless `shape` is a list of non-negative integers. */
export function checkShape(op: string, shape: Shape): void {
  if (!Array.isArray(shape) && !(shape as unknown as { length?: number }).length) {
    throw new Error(`${op}: shape must be an array of integers, got ${String(shape)}`);
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${op}: invalid shape ${shapeStr(shape)} (dimensions must be integers ≥ 0)`);
  }
}

/**
 * Dimensions the broadcasting kernels (elementwise ⊕, and sumTo that reverses them) take as params,
 * after merging adjacent dimensions that broadcast alike (engine/ops/elementwise.ts).
 */
export const BCAST_RANK = 6;

/**
 * NumPy/PyTorch broadcasting of two shapes: dimensions are aligned from the right and each pair must
 * be equal or contain a 1.
 */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast (dimension ${i - rank} is ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Parses `n` or `[h, w]` for 2-D attributes (kernel, stride, padding). */
export function pair(op: string, name: string, v: number | readonly number[] | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  const p = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (p.length !== 2 || !Number.isInteger(p[0]) || !Number.isInteger(p[1]) || (typeof v !== 'number' && v.length !== 2)) {
    throw new Error(`${op}: ${name} must be an integer or a pair of integers, got ${JSON.stringify(v)}`);
  }
  return p as [number, number];
}
