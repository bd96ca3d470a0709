// Matrix multiply and the linear layer.
//
// Letters: C[M,N] = op(A)[M,K] · op(B)[K,N], with op = transpose when transA/transB is set; A is
// stored [M,K] (or [K,M] when transposed), B is stored [K,N] (or [N,K]).
//
// Backward of C = A·B:  dA = dC·Bᵀ (matmul with transB),  dB = Aᵀ·dC (matmul with transA).
// linear(x, w, b) = x·wᵀ + b with w [out, in] as PyTorch: dx = dy·w, dw = dyᵀ·x, db = Σ_rows dy.

import { kernel } from '../kernel.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { shapeStr } from '../shape.js';
import { backendOf, dispatch, output, requireF32 } from './op.js';
import { grid2, pass, type LaunchPlan, type Tiles } from './launch.js';
import { add } from './elementwise.js';
import { reshape } from './reshape.js';

/** C = op(A)·op(B); transA/transB select stored-transposed operands. */
export const matmul_fwd = kernel({
  name: 'matmul_fwd', family: 'matmul', inputs: ['a', 'b'], outputs: ['c'],
  params: [['M', 'u32'], ['K', 'u32'], ['N', 'u32'], ['transA', 'u32'], ['transB', 'u32']],
  constants: ['transA', 'transB'],
});

export const matmulKernels = [matmul_fwd];

/** @internal op(a)·op(b) without autograd; a, b 2-D. */
export function mm(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const M = transA ? a.shape[1] : a.shape[0];
  const K = transA ? a.shape[0] : a.shape[1];
  const Kb = transB ? b.shape[1] : b.shape[0];
  const N = transB ? b.shape[0] : b.shape[1];
  if (K !== Kb) throw new Error(`matmul: inner dimensions differ (${shapeStr(a.shape)}${transA ? 'ᵀ' : ''} · ${shapeStr(b.shape)}${transB ? 'ᵀ' : ''})`);
  const c = output('matmul', [M, N], a.backend);
  if (M * N > 0) dispatch(matmul_fwd, { M, K, N, transA: transA ? 1 : 0, transB: transB ? 1 : 0 }, [a, b], [c]);
  return c;
}

/** a[M,K] · b[K,N] → [M,N]. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  backendOf('matmul', [a, b]);
  requireF32('matmul', 'a', a);
  requireF32('matmul', 'b', b);
  if (a.rank !== 2 || b.rank !== 2) {
    throw new Error(`matmul: expected 2-D operands, got a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)}`);
  }
  if (a.shape[1] !== b.shape[0]) {
    throw new Error(`matmul: a has ${a.shape[1]} columns but b has ${b.shape[0]} rows (a ${shapeStr(a.shape)}, b ${shapeStr(b.shape)})`);
  }
  const c = mm(a, b, false, false);
  return record('matmul', c, [a, b], [a, b], (dc, [A, B], needs) => [
    needs[0] ? mm(dc, B, false, true) : null,
    needs[1] ? mm(A, dc, true, false) : null,
  ]);
}

/**
 * y = x·wᵀ + b, w `[out, in]` as PyTorch; x `[..., in]` (leading dims are flattened and restored).
 *
 * @example
 *   const logits = nn.functional.linear(features, fc.weight, fc.bias); // [N,64] → [N,10]
 */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  backendOf('linear', [x, w, b]);
  requireF32('linear', 'input', x);
  requireF32('linear', 'weight', w);
  if (w.rank !== 2) throw new Error(`linear: weight must be 2-D [out, in], got ${shapeStr(w.shape)}`);
  if (x.rank < 1) throw new Error(`linear: input must have at least one dimension, got ${shapeStr(x.shape)}`);
  const inF = x.shape[x.rank - 1];
  if (inF !== w.shape[1]) {
    throw new Error(`linear: input has ${inF} features but weight expects ${w.shape[1]} (input ${shapeStr(x.shape)}, weight ${shapeStr(w.shape)})`);
  }
  if (b && (b.rank !== 1 || b.shape[0] !== w.shape[0])) {
    throw new Error(`linear: bias must be [${w.shape[0]}], got ${shapeStr(b.shape)}`);
  }
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? x : reshape(x, [-1, inF]);
  const y2 = mm(x2, w, false, true);
  record('linear', y2, [x2, w], [x2, w], (dy, [X, W], needs) => [
    needs[0] ? mm(dy, W, false, false) : null,
    needs[1] ? mm(dy, X, true, false) : null,
  ]);
  if (x2 !== x) x2.dispose();
  let y = y2;
  if (b) {
    y = add(y2, b);
    y2.dispose();
  }
  if (x.rank !== 2) {
    const r = reshape(y, [...lead, w.shape[0]]);
    y.dispose();
    y = r;
  }
  return y;
}

// ---- launch plan (engine/ops/launch.ts) ----------------------------------------------------------

/** GPUs: the same product through workgroup memory (wgsl/matmul.wgsl, end of file). */
export const matmul_fwd_tiled = kernel({
  name: 'matmul_fwd_tiled', family: 'matmul', inputs: ['a', 'b'], outputs: ['c'],
  params: [['M', 'u32'], ['K', 'u32'], ['N', 'u32'], ['transA', 'u32'], ['transB', 'u32']], constants: ['transA', 'transB'],
});
export const matmulHelperKernels = [matmul_fwd_tiled];

/**
 * Output tile of one workgroup, [columns, rows] of C: the one place (wgsl/matmul.wgsl reads it as
 * MATMUL_FWD_TILE_COLS, ...; engine/ops/launch.ts). matmul_fwd takes any multiple of its 4×4
 * invocation block; the tiled kernel's staging is written for 64×64 (it asserts so).
 */
export const matmulTiles: Tiles = {
  matmul_fwd: [32, 32],
  matmul_fwd_tiled: [64, 64],
};

export const matmulPlans: Record<string, LaunchPlan> = {
  matmul_fwd: (ctx, k, P, inputs, outputs) => {
    const spec = ctx.variant === 'tiled' ? matmul_fwd_tiled : k;
    const [tc, tr] = matmulTiles[spec.name];
    return [pass(spec, P, [...inputs, ...outputs], grid2(Math.ceil(P.N / tc), Math.ceil(P.M / tr)))];
  },
};
