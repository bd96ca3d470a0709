// 2-D convolution (cross-correlation, as PyTorch), groups 1, dilation 1, zero padding.
//
// Letters (declared once here, repeated in wgsl/conv2d.wgsl and assembly/conv2d.ts):
//   N batch, C input channels, H×W input, K output channels, R×S kernel, P×Q output,
//   x [N,C,H,W], w [K,C,R,S] (OIHW), y [N,K,P,Q];  P = ⌊(H + 2·padH − R)/strideH⌋ + 1, likewise Q.
//
//   y[n,k,p,q] = Σ_{c,r,s} x[n, c, p·strideH − padH + r, q·strideW − padW + s] · w[k,c,r,s]
//
// Backward (with dy [N,K,P,Q]):
//   dx[n,c,h,w] = Σ_{k,r,s : h = p·strideH − padH + r, w = q·strideW − padW + s} dy[n,k,p,q]·w[k,c,r,s]
//                 (a transposed convolution: dy dilated by the stride, correlated with the flipped
//                 kernel with in/out channels swapped)
//   dw[k,c,r,s] = Σ_{n,p,q} dy[n,k,p,q] · x[n, c, p·strideH − padH + r, q·strideW − padW + s]
//   db[k]       = Σ_{n,p,q} dy[n,k,p,q]
// Out-of-range x positions read as 0 and receive no gradient.

import { kernel } from '../kernel.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { pair, shapeStr } from '../shape.js';
import { backendOf, dispatch, output, requireF32 } from './op.js';
import { grid1, grid2, pass, type LaunchPlan, type Tiles } from './launch.js';
import { reduce_splits } from './reduce.js';
import { add } from './elementwise.js';
import { reshape } from './reshape.js';

export interface Conv2dAttrs {
  /** Step between windows: n or [strideH, strideW]. Default 1. */
  stride?: number | readonly [number, number];
  /** Zero padding on each side: n or [padH, padW]. Default 0. */
  padding?: number | readonly [number, number];
}

export interface Conv2dGeometry {
  N: number; C: number; H: number; W: number;
  K: number; R: number; S: number; P: number; Q: number;
  strideH: number; strideW: number; padH: number; padW: number;
}

/** The one place output size and attribute checks are computed (ops, backends, reference, tests). */
export function conv2dGeometry(xShape: readonly number[], wShape: readonly number[], attrs: Conv2dAttrs = {}): Conv2dGeometry {
  const op = 'conv2d';
  if (xShape.length !== 4) throw new Error(`${op}: input must be 4-D [N,C,H,W], got shape ${shapeStr(xShape)}`);
  if (wShape.length !== 4) throw new Error(`${op}: weight must be 4-D [K,C,R,S] (OIHW), got shape ${shapeStr(wShape)}`);
  const unknown = Object.keys(attrs).filter((k) => k !== 'stride' && k !== 'padding');
  if (unknown.length) {
    throw new Error(`${op}: unsupported option(s) ${unknown.join(', ')} (supported: stride, padding; groups and dilation are 1)`);
  }
  const [N, C, H, W] = xShape;
  const [K, Cw, R, S] = wShape;
  if (C !== Cw) throw new Error(`${op}: input has ${C} channels but weight expects ${Cw} (input ${shapeStr(xShape)}, weight ${shapeStr(wShape)})`);
  const [strideH, strideW] = pair(op, 'stride', attrs.stride, 1);
  const [padH, padW] = pair(op, 'padding', attrs.padding, 0);
  if (strideH < 1 || strideW < 1) throw new Error(`${op}: stride must be ≥ 1, got [${strideH},${strideW}]`);
  if (padH < 0 || padW < 0) throw new Error(`${op}: padding must be ≥ 0, got [${padH},${padW}]`);
  if (R < 1 || S < 1) throw new Error(`${op}: kernel must be at least 1×1, got weight ${shapeStr(wShape)}`);
  const P = Math.floor((H + 2 * padH - R) / strideH) + 1;
  const Q = Math.floor((W + 2 * padW - S) / strideW) + 1;
  if (P < 1 || Q < 1) {
    throw new Error(`${op}: kernel ${R}×${S} is larger than the padded input ${H + 2 * padH}×${W + 2 * padW} (input ${shapeStr(xShape)}, padding [${padH},${padW}])`);
  }
  return { N, C, H, W, K, R, S, P, Q, strideH, strideW, padH, padW };
}

const geomParams = [
  ['N', 'u32'], ['C', 'u32'], ['H', 'u32'], ['W', 'u32'], ['K', 'u32'], ['R', 'u32'], ['S', 'u32'],
  ['P', 'u32'], ['Q', 'u32'], ['strideH', 'u32'], ['strideW', 'u32'], ['padH', 'u32'], ['padW', 'u32'],
] as const;

/** y = conv(x, w). */
export const conv2d_fwd = kernel({ name: 'conv2d_fwd', family: 'conv2d', inputs: ['x', 'w'], outputs: ['y'], params: geomParams });
/** dx = convᵀ(dy, w). */
export const conv2d_bwd_x = kernel({ name: 'conv2d_bwd_x', family: 'conv2d', inputs: ['dy', 'w'], outputs: ['dx'], params: geomParams });
/** dw = Σ_{n,p,q} dy ⊗ x-patches. */
export const conv2d_bwd_w = kernel({ name: 'conv2d_bwd_w', family: 'conv2d', inputs: ['x', 'dy'], outputs: ['dw'], params: geomParams });

export const conv2dKernels = [conv2d_fwd, conv2d_bwd_x, conv2d_bwd_w];

/**
 * 2-D convolution, NCHW input, OIHW weight, optional bias [K].
 *
 * @example
 *   const y = nn.functional.conv2d(x, w, null, { stride: 1, padding: 1 }); // 3×3 "same"
 */
export function conv2d(x: Tensor, w: Tensor, b?: Tensor | null, attrs: Conv2dAttrs = {}): Tensor {
  const backend = backendOf('conv2d', [x, w, b]);
  requireF32('conv2d', 'input', x);
  requireF32('conv2d', 'weight', w);
  const g = conv2dGeometry(x.shape, w.shape, attrs);
  if (b) {
    requireF32('conv2d', 'bias', b);
    if (b.rank !== 1 || b.shape[0] !== g.K) throw new Error(`conv2d: bias must be [${g.K}] for ${g.K} output channels, got ${shapeStr(b.shape)}`);
  }
  const y = output('conv2d', [g.N, g.K, g.P, g.Q], backend);
  if (y.size > 0) dispatch(conv2d_fwd, g, [x, w], [y]);
  record('conv2d', y, [x, w], [x, w], (dy, [X, Wt], needs) => {
    let dx: Tensor | null = null;
    let dw: Tensor | null = null;
    if (needs[0]) {
      dx = output('conv2d dx', X.shape, X.backend);
      dispatch(conv2d_bwd_x, g, [dy, Wt], [dx]);
    }
    if (needs[1]) {
      dw = output('conv2d dw', Wt.shape, Wt.backend);
      dispatch(conv2d_bwd_w, g, [X, dy], [dw]);
    }
    return [dx, dw];
  });
  if (!b) return y;
  const b4 = reshape(b, [1, g.K, 1, 1]);
  const out = add(y, b4);
  y.dispose();
  b4.dispose();
  return out;
}

// ---- launch plan (engine/ops/launch.ts) ----------------------------------------------------------

/** GPUs: the forward and input-gradient GEMMs through workgroup memory (wgsl/conv2d.wgsl, end of file). */
export const conv2d_fwd_tiled = kernel({ name: 'conv2d_fwd_tiled', family: 'conv2d', inputs: ['x', 'w'], outputs: ['y'], params: geomParams });
export const conv2d_bwd_x_tiled = kernel({ name: 'conv2d_bwd_x_tiled', family: 'conv2d', inputs: ['dy', 'w'], outputs: ['dx'], params: geomParams });
/** The weight gradient over chunk z of N·P·Q into partials[z, K, C·R·S]; reduce_splits adds the chunks. */
export const conv2d_bwd_w_split = kernel({
  name: 'conv2d_bwd_w_split', family: 'conv2d', inputs: ['x', 'dy'], outputs: ['partials'],
  params: [...geomParams, ['splits', 'u32'], ['chunk', 'u32']],
});
export const conv2dHelperKernels = [conv2d_fwd_tiled, conv2d_bwd_x_tiled, conv2d_bwd_w_split];

/**
 * Output tile of one workgroup, [columns, rows] of the GEMM output: the one place (wgsl/conv2d.wgsl
 * reads it as CONV2D_FWD_TILE_COLS, ...; engine/ops/launch.ts). The barrier-free kernels take any
 * multiple of their 8×4 invocation block (conv2d_bwd_w_split shares conv2d_bwd_w's tile); the tiled
 * kernels' staging is written for 64×64 (they assert so). @internal: the kernel lab (bench/lab/) swaps
 * it together with a variant's source.
 */
export const conv2dTiles: Tiles = {
  conv2d_fwd: [64, 32],
  conv2d_fwd_tiled: [64, 64],
  conv2d_bwd_x: [64, 32],
  conv2d_bwd_x_tiled: [64, 64],
  conv2d_bwd_w: [64, 32],
};

/** One pass of `k` (or its tiled twin on the tiled variant) over [columns, rows] of its GEMM. */
function gemm(tiled: typeof conv2d_fwd_tiled, cols: (P: Record<string, number>) => number, rows: (P: Record<string, number>) => number): LaunchPlan {
  return (ctx, k, P, inputs, outputs) => {
    const spec = ctx.variant === 'tiled' ? tiled : k;
    const [tc, tr] = conv2dTiles[spec.name];
    return [pass(spec, P, [...inputs, ...outputs], grid2(Math.ceil(cols(P) / tc), Math.ceil(rows(P) / tr)))];
  };
}

export const conv2dPlans: Record<string, LaunchPlan> = {
  conv2d_fwd: gemm(conv2d_fwd_tiled, (P) => P.N * P.P * P.Q, (P) => P.K),
  conv2d_bwd_x: gemm(conv2d_bwd_x_tiled, (P) => P.N * P.H * P.W, (P) => P.C),
  conv2d_bwd_w: (ctx, k, P, inputs, outputs) => {
    const CRS = P.C * P.R * P.S;
    const NPQ = P.N * P.P * P.Q;
    const tiles: [number, number] = [Math.ceil(CRS / conv2dTiles.conv2d_bwd_w[0]), Math.ceil(P.K / conv2dTiles.conv2d_bwd_w[1])];
    // Split N·P·Q so that every split has ≥ 512 terms, up to 64 splits, and only while the partials
    // stay under 2^20 values (4 MiB): enough workgroups to fill a GPU for the small K·C·R·S of early
    // layers; late layers (K·C·R·S in the millions) have parallelism enough unsplit.
    const splits = Math.min(64, Math.floor(NPQ / 512), Math.floor(2 ** 20 / (P.K * CRS)));
    if (splits <= 1) return [pass(k, P, [...inputs, ...outputs], [tiles[0], tiles[1], 1])];
    const chunk = Math.ceil(NPQ / splits);
    const used = Math.ceil(NPQ / chunk);
    const count = P.K * CRS;
    const parts = ctx.scratch(used * count * 4, `conv2d dw partials [${used},${P.K},${CRS}]`);
    return [
      pass(conv2d_bwd_w_split, { ...P, splits: used, chunk }, [inputs[0], inputs[1], parts], [tiles[0], tiles[1], used]),
      pass(reduce_splits, { count, splits: used }, [parts, outputs[0]], grid1(count)),
    ];
  },
};
