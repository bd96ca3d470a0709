// Reduction family: sum, mean, sum of squares (all elements → one element), and sumTo (the reverse of
// broadcasting: sum a gradient over the dimensions an input was broadcast in).
//
// Determinism: every kernel here sums in a fixed order that depends only on the sizes, never on
// timing (no float atomics on either backend), so the same inputs give the same bits on a backend.
//
// Backward rules: sum: dx = dy·scale (broadcast of the single element); sumSquares: dx = 2·scale·x·dy.

import { kernel, type KernelSpec } from '../kernel.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { BCAST_RANK, sameShape, shapeStr, sizeOf, type Shape } from '../shape.js';
import { backendOf, dispatch, output, requireF32 } from './op.js';
import { grid1, pass, perItem, type LaunchPlan, type PlanContext, type Pass } from './launch.js';
import type { Buf } from '../backend.js';

/** y[0] = scale · Σ x[i]. */
export const reduce_sum = kernel({ name: 'reduce_sum', family: 'reduce', inputs: ['x'], outputs: ['y'], params: [['n', 'u32'], ['scale', 'f32']] });
/** y[0] = scale · Σ x[i]². */
export const reduce_sumsq = kernel({ name: 'reduce_sumsq', family: 'reduce', inputs: ['x'], outputs: ['y'], params: [['n', 'u32'], ['scale', 'f32']] });
/** dx[i] = scale · dy[0]. */
export const reduce_sum_bwd = kernel({ name: 'reduce_sum_bwd', family: 'reduce', inputs: ['dy'], outputs: ['dx'], params: [['n', 'u32'], ['scale', 'f32']] });
/** dx[i] = 2 · scale · x[i] · dy[0]. */
export const reduce_sumsq_bwd = kernel({ name: 'reduce_sumsq_bwd', family: 'reduce', inputs: ['x', 'dy'], outputs: ['dx'], params: [['n', 'u32'], ['scale', 'f32']] });

const toParams = [
  ['n', 'u32'], ['nout', 'u32'],
  ['d0', 'u32'], ['d1', 'u32'], ['d2', 'u32'], ['d3', 'u32'], ['d4', 'u32'], ['d5', 'u32'],
  ['s0', 'u32'], ['s1', 'u32'], ['s2', 'u32'], ['s3', 'u32'], ['s4', 'u32'], ['s5', 'u32'],
] as const;
/**
 * y[j] = Σ x[i] over the i that map to j: x has dims d0..d5, and element (i0..i5) of x maps to
 * y[Σ ik·sk], with sk = 0 for the dims being summed. Summation runs in increasing i for each j.
 */
export const reduce_to = kernel({ name: 'reduce_to', family: 'reduce', inputs: ['x'], outputs: ['y'], params: toParams });

export const reduceKernels = [reduce_sum, reduce_sumsq, reduce_sum_bwd, reduce_sumsq_bwd, reduce_to];

function fullReduce(op: string, k: typeof reduce_sum, x: Tensor, scale: number): Tensor {
  const backend = backendOf(op, [x]);
  requireF32(op, 'input', x);
  const y = output(op, [1], backend);
  dispatch(k, { n: x.size, scale }, [x], [y]);
  return y;
}

/** Σ x over all elements → shape [1]. */
export function sum(x: Tensor): Tensor {
  const y = fullReduce('sum', reduce_sum, x, 1);
  return record('sum', y, [x], [], (dy) => [broadcastScalar(dy, x.shape, 1)]);
}

/** Mean of all elements → shape [1]. */
export function mean(x: Tensor): Tensor {
  if (x.size === 0) throw new Error(`mean: ${x.describe()} has no elements`);
  const scale = 1 / x.size;
  const y = fullReduce('mean', reduce_sum, x, scale);
  return record('mean', y, [x], [], (dy) => [broadcastScalar(dy, x.shape, scale)]);
}

/** Σ x² over all elements → shape [1]. */
export function sumSquares(x: Tensor): Tensor {
  const y = fullReduce('sumSquares', reduce_sumsq, x, 1);
  return record('sumSquares', y, [x], [x], (dy, [X]) => {
    const dx = output('sumSquares backward', X.shape, X.backend);
    dispatch(reduce_sumsq_bwd, { n: X.size, scale: 1 }, [X, dy], [dx]);
    return [dx];
  });
}

function broadcastScalar(dy: Tensor, shape: Shape, scale: number): Tensor {
  const dx = output('sum backward', shape, dy.backend);
  if (dx.size > 0) dispatch(reduce_sum_bwd, { n: dx.size, scale }, [dy], [dx]);
  return dx;
}

/**
 * Sums `x` down to `shape` (which `x.shape` was broadcast from). Returns `x` itself when the shapes
 * already match. Not recorded by autograd: used inside backward rules.
 */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const rank = x.shape.length;
  if (shape.length > rank) throw new Error(`sumTo: cannot reduce ${shapeStr(x.shape)} to the larger rank ${shapeStr(shape)}`);
  const tp = [...new Array<number>(rank - shape.length).fill(1), ...shape];
  // Merge adjacent dims with the same kept/summed status; drop size-1 dims of x.
  const dims: number[] = [];
  const kept: boolean[] = [];
  for (let i = 0; i < rank; i++) {
    if (tp[i] !== 1 && tp[i] !== x.shape[i]) {
      throw new Error(`sumTo: ${shapeStr(x.shape)} was not broadcast from ${shapeStr(shape)}`);
    }
    if (x.shape[i] === 1) continue;
    const k = tp[i] !== 1;
    const last = dims.length - 1;
    if (last >= 0 && kept[last] === k) dims[last] *= x.shape[i];
    else {
      dims.push(x.shape[i]);
      kept.push(k);
    }
  }
  if (dims.length > BCAST_RANK) throw new Error(`sumTo: reducing ${shapeStr(x.shape)} to ${shapeStr(shape)} needs more than ${BCAST_RANK} dimensions`);
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = kept[i] ? acc : 0;
    if (kept[i]) acc *= dims[i];
  }
  const lead = BCAST_RANK - dims.length;
  const D = [...new Array<number>(lead).fill(1), ...dims];
  const S = [...new Array<number>(lead).fill(0), ...s];
  const y = output('sumTo', shape, x.backend);
  if (y.size > 0) {
    dispatch(reduce_to, {
      n: x.size, nout: sizeOf(shape),
      d0: D[0], d1: D[1], d2: D[2], d3: D[3], d4: D[4], d5: D[5],
      s0: S[0], s1: S[1], s2: S[2], s3: S[3], s4: S[4], s5: S[5],
    }, [x], [y]);
  }
  return y;
}

// ---- launch plan (engine/ops/launch.ts) ----------------------------------------------------------

/** Helper pass of a long full reduction: T partial sums (of squares when SQUARE), ~64 values each. */
export const reduce_partial = kernel({ name: 'reduce_partial', family: 'reduce', inputs: ['x'], outputs: ['partials'], params: [['n', 'u32'], ['T', 'u32']], constants: [] });
/** Helper pass of split reductions: y[j] = Σ_s partials[s·count + j], in split order. */
export const reduce_splits = kernel({ name: 'reduce_splits', family: 'reduce', inputs: ['partials'], outputs: ['y'], params: [['count', 'u32'], ['splits', 'u32']] });
export const reduceHelperKernels = [reduce_partial, reduce_splits];

/** Full reductions above this size go through reduce_partial first. */
export const SERIAL_REDUCE_MAX = 4096;

/** Passes of a full sum of `x` (n values) into y[0], times `scale`; squared values when `squares`. */
export function fullReducePasses(ctx: PlanContext, spec: KernelSpec, x: Buf, y: Buf, n: number, scale: number, squares: boolean): Pass[] {
  if (n <= SERIAL_REDUCE_MAX) return [pass(spec, { n, scale }, [x, y], [1, 1, 1])];
  // T partials of ~64 values each, at most 2048 (the finish then sums ≤ 2048 values in order).
  const T = Math.min(2048, Math.ceil(n / 64));
  const parts = ctx.scratch(T * 4, `${spec.name} partials [${T}]`);
  const p1 = pass(reduce_partial, { n, T }, [x, parts], grid1(T));
  p1.constants = { SQUARE: squares ? 1 : 0 };
  return [p1, pass(reduce_sum, { n: T, scale }, [parts, y], [1, 1, 1])];
}

const full: LaunchPlan = (ctx, k, P, inputs, outputs) => fullReducePasses(ctx, k, inputs[0], outputs[0], P.n, P.scale, k.name === reduce_sumsq.name);

export const reducePlans: Record<string, LaunchPlan> = {
  reduce_sum: full,
  reduce_sumsq: full,
  reduce_to: perItem((P) => P.nout),
};
