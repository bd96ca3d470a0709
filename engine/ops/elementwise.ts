// Elementwise family: add, sub, mul (tensor ⊕ tensor with broadcasting of size-1 dims, or tensor ⊕
// scalar), square, fill, copy.
//
// Broadcast kernels see at most BCAST_RANK dimensions: before dispatch, adjacent dimensions that
// broadcast the same way are merged ([N,C,H,W] + [1,C,1,1] becomes 3 dims: N | C | H·W), so any rank
// works in practice; a pattern needing more than 6 merged dims is refused with a clear error.
//
// Backward rules (y = a ⊕ b, dy given; sumTo reduces over the dimensions an input was broadcast in):
//   add: da = sumTo(dy), db = sumTo(dy)
//   sub: da = sumTo(dy), db = sumTo(−dy)
//   mul: da = sumTo(dy·b), db = sumTo(dy·a)
//   scalar: y = α·x + β ⇒ dx = α·dy;  square: dx = 2·x·dy

import { kernel } from '../kernel.js';
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import type { Backend } from '../backend.js';
import { BCAST_RANK, broadcastShapes, sameShape, sizeOf, type Shape } from '../shape.js';
import { backendOf, dispatch, output, requireF32 } from './op.js';
import { sumTo } from './reduce.js';

const bcastParams = [
  ['n', 'u32'], ['contig', 'u32'],
  ['d0', 'u32'], ['d1', 'u32'], ['d2', 'u32'], ['d3', 'u32'], ['d4', 'u32'], ['d5', 'u32'],
  ['a0', 'u32'], ['a1', 'u32'], ['a2', 'u32'], ['a3', 'u32'], ['a4', 'u32'], ['a5', 'u32'],
  ['b0', 'u32'], ['b1', 'u32'], ['b2', 'u32'], ['b3', 'u32'], ['b4', 'u32'], ['b5', 'u32'],
] as const;

/** y[i] = a[ia(i)] + b[ib(i)]: dims d0..d5 of y, element strides a0..a5, b0..b5 of the inputs (0 = broadcast). */
export const ew_add = kernel({ name: 'ew_add', family: 'elementwise', inputs: ['a', 'b'], outputs: ['y'], params: bcastParams, constants: ['contig'] });
export const ew_sub = kernel({ name: 'ew_sub', family: 'elementwise', inputs: ['a', 'b'], outputs: ['y'], params: bcastParams, constants: ['contig'] });
export const ew_mul = kernel({ name: 'ew_mul', family: 'elementwise', inputs: ['a', 'b'], outputs: ['y'], params: bcastParams, constants: ['contig'] });
/** y = alpha·x + beta. */
export const ew_affine = kernel({ name: 'ew_affine', family: 'elementwise', inputs: ['x'], outputs: ['y'], params: [['n', 'u32'], ['alpha', 'f32'], ['beta', 'f32']] });
/** y = x². */
export const ew_square = kernel({ name: 'ew_square', family: 'elementwise', inputs: ['x'], outputs: ['y'], params: [['n', 'u32']] });
/** dx = 2·x·dy. */
export const ew_square_bwd = kernel({ name: 'ew_square_bwd', family: 'elementwise', inputs: ['x', 'dy'], outputs: ['dx'], params: [['n', 'u32']] });
/** y = value (f32 bits; an i32 tensor is filled with the same bits only for 0). */
export const ew_fill = kernel({ name: 'ew_fill', family: 'elementwise', inputs: [], outputs: ['y'], params: [['n', 'u32'], ['value', 'f32']] });
/** y = x (n 32-bit words). */
export const ew_copy = kernel({ name: 'ew_copy', family: 'elementwise', inputs: ['x'], outputs: ['y'], params: [['n', 'u32']] });

export const elementwiseKernels = [ew_add, ew_sub, ew_mul, ew_affine, ew_square, ew_square_bwd, ew_fill, ew_copy];

type BcastParams = Record<(typeof bcastParams)[number][0], number>;

/**
 * Params for a broadcast kernel producing `out` from `a` and `b`: the output dims right-aligned into 6
 * slots, with adjacent dims merged where both inputs broadcast them the same way.
 */
export function broadcastParams(op: string, out: Shape, a: Shape, b: Shape): BcastParams {
  const n = sizeOf(out);
  const rank = out.length;
  const pad = (s: Shape) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const ap = pad(a);
  const bp = pad(b);
  // Merge runs of dims with the same (a broadcast?, b broadcast?) pattern; drop size-1 output dims.
  const dims: number[] = [];
  const aB: boolean[] = [];
  const bB: boolean[] = [];
  for (let i = 0; i < rank; i++) {
    if (out[i] === 1) continue;
    const ab = ap[i] === 1;
    const bb = bp[i] === 1;
    const last = dims.length - 1;
    if (last >= 0 && aB[last] === ab && bB[last] === bb) dims[last] *= out[i];
    else {
      dims.push(out[i]);
      aB.push(ab);
      bB.push(bb);
    }
  }
  if (dims.length > BCAST_RANK) {
    throw new Error(`${op}: broadcasting ${JSON.stringify(a)} with ${JSON.stringify(b)} needs ${dims.length} distinct dimensions; at most ${BCAST_RANK} are supported`);
  }
  // Strides of each input over the merged dims (0 where broadcast).
  const strideFor = (bcast: boolean[]) => {
    const s = new Array<number>(dims.length);
    let acc = 1;
    for (let i = dims.length - 1; i >= 0; i--) {
      s[i] = bcast[i] ? 0 : acc;
      if (!bcast[i]) acc *= dims[i];
    }
    return s;
  };
  const as = strideFor(aB);
  const bs = strideFor(bB);
  const lead = BCAST_RANK - dims.length;
  const D = [...new Array<number>(lead).fill(1), ...dims];
  const A = [...new Array<number>(lead).fill(0), ...as];
  const B = [...new Array<number>(lead).fill(0), ...bs];
  const contig = sameShape(ap, out) && sameShape(bp, out) ? 1 : 0;
  return {
    n, contig,
    d0: D[0], d1: D[1], d2: D[2], d3: D[3], d4: D[4], d5: D[5],
    a0: A[0], a1: A[1], a2: A[2], a3: A[3], a4: A[4], a5: A[5],
    b0: B[0], b1: B[1], b2: B[2], b3: B[3], b4: B[4], b5: B[5],
  };
}

type Binary = 'add' | 'sub' | 'mul';
const binaryKernel = { add: ew_add, sub: ew_sub, mul: ew_mul } as const;

function binary(op: Binary, a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return scalarOp(op, a, b);
  const backend = backendOf(op, [a, b]);
  requireF32(op, 'first operand', a);
  requireF32(op, 'second operand', b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const y = output(op, shape, backend);
  dispatch(binaryKernel[op], broadcastParams(op, shape, a.shape, b.shape), [a, b], [y]);
  const saved = op === 'mul' ? [a, b] : [];
  return record(op, y, [a, b], saved, (dy, s, needs) => {
    const sa = a.shape;
    const sb = b.shape;
    if (op === 'mul') {
      const [A, B] = s;
      return [needs[0] ? sumToOwned(mul(dy, B), sa) : null, needs[1] ? sumToOwned(mul(dy, A), sb) : null];
    }
    const da = needs[0] ? sumTo(dy, sa) : null;
    let db: Tensor | null = null;
    if (needs[1]) db = op === 'add' ? sumTo(dy, sb) : sumToOwned(affine(dy, -1, 0), sb);
    return [da, db];
  });
}

/** sumTo, disposing its (temporary) argument. */
function sumToOwned(t: Tensor, shape: Shape): Tensor {
  const r = sumTo(t, shape);
  if (r !== t) t.dispose();
  return r;
}

function affine(x: Tensor, alpha: number, beta: number): Tensor {
  const y = output('affine', x.shape, x.backend);
  dispatch(ew_affine, { n: x.size, alpha, beta }, [x], [y]);
  return y;
}

function scalarOp(op: Binary, x: Tensor, s: number): Tensor {
  backendOf(op, [x]);
  requireF32(op, 'tensor operand', x);
  if (typeof s !== 'number') throw new Error(`${op}: expected a Tensor or a number, got ${typeof s}`);
  const alpha = op === 'mul' ? s : 1;
  const beta = op === 'add' ? s : op === 'sub' ? -s : 0;
  const y = affine(x, alpha, beta);
  return record(op, y, [x], [], (dy) => [alpha === 1 ? dy : affine(dy, alpha, 0)]);
}

/** a + b (broadcasting), or a + scalar. */
export function add(a: Tensor, b: Tensor | number): Tensor {
  return binary('add', a, b);
}
/** a − b (broadcasting), or a − scalar. */
export function sub(a: Tensor, b: Tensor | number): Tensor {
  return binary('sub', a, b);
}
/** a · b elementwise (broadcasting), or a · scalar. */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  return binary('mul', a, b);
}
/** −x. */
export function neg(x: Tensor): Tensor {
  return scalarOp('mul', x, -1);
}

/** x², elementwise. */
export function square(x: Tensor): Tensor {
  const backend = backendOf('square', [x]);
  requireF32('square', 'input', x);
  const y = output('square', x.shape, backend);
  dispatch(ew_square, { n: x.size }, [x], [y]);
  return record('square', y, [x], [x], (dy, [X]) => {
    const dx = output('square backward', X.shape, X.backend);
    dispatch(ew_square_bwd, { n: X.size }, [X, dy], [dx]);
    return [dx];
  });
}

/** A tensor of `shape` filled with `value`, on the current backend. */
export function full(shape: Shape, value: number, opts: { dtype?: 'f32' | 'i32'; backend?: Backend } = {}): Tensor {
  const backend = opts.backend ?? backendOf('full', []);
  const dtype = opts.dtype ?? 'f32';
  const y = output('full', shape, backend, dtype);
  if (dtype === 'i32') {
    if (!Number.isInteger(value)) throw new Error(`full: i32 value must be an integer, got ${value}`);
    if (y.size > 0) {
      backend.upload(y.storage.buf, new Int32Array(y.size).fill(value));
      y.storage.hostRange = { min: value, minAt: 0, max: value, maxAt: 0 };
    }
  } else if (y.size > 0) {
    dispatch(ew_fill, { n: y.size, value }, [], [y]);
  }
  return y;
}

/** A copy with its own storage; gradients flow through unchanged. */
export function clone(x: Tensor): Tensor {
  const backend = backendOf('clone', [x]);
  const y = output('clone', x.shape, backend, x.dtype);
  if (x.size > 0) dispatch(ew_copy, { n: x.size }, [x], [y]);
  return record('clone', y, [x], [], (dy) => [dy]);
}

/** @internal Copies `src` into `dst` (same size), in place, outside autograd. */
export function copyInto(dst: Tensor, src: Tensor): void {
  backendOf('copyInto', [dst, src]);
  if (dst.size !== src.size) throw new Error(`copyInto: ${src.describe()} does not fit ${dst.describe()}`);
  if (dst.size > 0) dispatch(ew_copy, { n: dst.size }, [src], [dst]);
}

