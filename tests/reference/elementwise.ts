// Float64 references for the elementwise family, from the definitions (no engine imports).
// Broadcasting: dimensions aligned from the right, size-1 dims repeat.

export type Arr = Float64Array;

export function bshape(a: number[], b: number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error('not broadcastable');
    out.push(Math.max(da, db));
  }
  return out;
}

/** Flat index into a tensor of `shape` for output coordinates `coord` (right-aligned, size-1 dims repeat). */
export function srcIndex(coord: number[], shape: number[]): number {
  const off = coord.length - shape.length;
  let idx = 0;
  for (let i = 0; i < shape.length; i++) idx = idx * shape[i] + (shape[i] === 1 ? 0 : coord[off + i]);
  return idx;
}

export function* coords(shape: number[]): Generator<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  const c = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    yield c;
    for (let i = shape.length - 1; i >= 0; i--) {
      if (++c[i] < shape[i]) break;
      c[i] = 0;
    }
  }
}

export function binary(op: 'add' | 'sub' | 'mul', a: Arr, as: number[], b: Arr, bs: number[]): { y: Arr; shape: number[] } {
  const shape = bshape(as, bs);
  const y = new Float64Array(shape.reduce((x, z) => x * z, 1));
  let k = 0;
  for (const c of coords(shape)) {
    const x = a[srcIndex(c, as)];
    const z = b[srcIndex(c, bs)];
    y[k++] = op === 'add' ? x + z : op === 'sub' ? x - z : x * z;
  }
  return { y, shape };
}

/** Gradients of Σ dy·(a ⊕ b) with respect to a and b. */
export function binaryBackward(op: 'add' | 'sub' | 'mul', a: Arr, as: number[], b: Arr, bs: number[], dy: Arr): { da: Arr; db: Arr } {
  const shape = bshape(as, bs);
  const da = new Float64Array(a.length);
  const db = new Float64Array(b.length);
  let k = 0;
  for (const c of coords(shape)) {
    const ia = srcIndex(c, as);
    const ib = srcIndex(c, bs);
    const g = dy[k++];
    if (op === 'add') { da[ia] += g; db[ib] += g; }
    else if (op === 'sub') { da[ia] += g; db[ib] -= g; }
    else { da[ia] += g * b[ib]; db[ib] += g * a[ia]; }
  }
  return { da, db };
}
