// Pooling family: max pooling, average pooling (zero padding counted in the divisor, PyTorch's
// count_include_pad=True default) and global average pooling.
//
// Letters: x [N,C,H,W], y [N,C,P,Q], window kH×kW, P = ⌊(H + 2·padH − kH)/strideH⌋ + 1 (floor mode).
// Max pooling treats padding as −∞ and records the flat h·W+w index of each window's maximum (the
// first one in row-major window order on ties, as PyTorch's CPU kernel).
//
// Backward, written as gathers so no two threads write one element (deterministic, no atomics):
//   max: dx[n,c,h,w] = Σ over windows (p,q) whose argmax is (h,w) of dy[n,c,p,q]
//   avg: dx[n,c,h,w] = Σ over windows (p,q) covering (h,w) of dy[n,c,p,q] / (kH·kW)
//   global average: dx[n,c,h,w] = dy[n,c] / (H·W)

import { kernel } from '../kernel.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { pair, shapeStr } from '../shape.js';
import { backendOf, dispatch, output, requireF32 } from './op.js';
import { perItem, type LaunchPlan } from './launch.js';

export interface Pool2dAttrs {
  /** Window size: n or [kH, kW]. Required. */
  kernel: number | readonly [number, number];
  /** Default: the window size (as PyTorch). */
  stride?: number | readonly [number, number];
  /** Default 0; at most half the window. */
  padding?: number | readonly [number, number];
}

export interface Pool2dGeometry {
  N: number; C: number; H: number; W: number; P: number; Q: number;
  kH: number; kW: number; strideH: number; strideW: number; padH: number; padW: number;
}

export function pool2dGeometry(op: string, xShape: readonly number[], attrs: Pool2dAttrs): Pool2dGeometry {
  if (xShape.length !== 4) throw new Error(`${op}: input must be 4-D [N,C,H,W], got shape ${shapeStr(xShape)}`);
  if (!attrs || attrs.kernel === undefined) throw new Error(`${op}: the kernel size is required ({ kernel: 2 })`);
  const unknown = Object.keys(attrs).filter((k) => !['kernel', 'stride', 'padding'].includes(k));
  if (unknown.length) throw new Error(`${op}: unsupported option(s) ${unknown.join(', ')} (supported: kernel, stride, padding)`);
  const [N, C, H, W] = xShape;
  const [kH, kW] = pair(op, 'kernel', attrs.kernel, 1);
  const [strideH, strideW] = pair(op, 'stride', attrs.stride ?? attrs.kernel, 1);
  const [padH, padW] = pair(op, 'padding', attrs.padding, 0);
  if (kH < 1 || kW < 1) throw new Error(`${op}: kernel must be ≥ 1, got [${kH},${kW}]`);
  if (strideH < 1 || strideW < 1) throw new Error(`${op}: stride must be ≥ 1, got [${strideH},${strideW}]`);
  if (padH < 0 || padW < 0 || 2 * padH > kH || 2 * padW > kW) {
    throw new Error(`${op}: padding must be between 0 and half the kernel size, got padding [${padH},${padW}] for kernel [${kH},${kW}]`);
  }
  const P = Math.floor((H + 2 * padH - kH) / strideH) + 1;
  const Q = Math.floor((W + 2 * padW - kW) / strideW) + 1;
  if (P < 1 || Q < 1) throw new Error(`${op}: window ${kH}×${kW} is larger than the padded input ${H + 2 * padH}×${W + 2 * padW} (input ${shapeStr(xShape)})`);
  return { N, C, H, W, P, Q, kH, kW, strideH, strideW, padH, padW };
}

const geomParams = [
  ['N', 'u32'], ['C', 'u32'], ['H', 'u32'], ['W', 'u32'], ['P', 'u32'], ['Q', 'u32'],
  ['kH', 'u32'], ['kW', 'u32'], ['strideH', 'u32'], ['strideW', 'u32'], ['padH', 'u32'], ['padW', 'u32'],
] as const;

/** y = window max; idx (i32) = h·W + w of the maximum within its (n,c) plane. */
export const maxpool2d_fwd = kernel({ name: 'maxpool2d_fwd', family: 'pool2d', inputs: ['x'], outputs: ['y', 'idx'], params: geomParams });
export const maxpool2d_bwd = kernel({ name: 'maxpool2d_bwd', family: 'pool2d', inputs: ['dy', 'idx'], outputs: ['dx'], params: geomParams });
export const avgpool2d_fwd = kernel({ name: 'avgpool2d_fwd', family: 'pool2d', inputs: ['x'], outputs: ['y'], params: geomParams });
export const avgpool2d_bwd = kernel({ name: 'avgpool2d_bwd', family: 'pool2d', inputs: ['dy'], outputs: ['dx'], params: geomParams });
/** y[nc] = mean of x[nc, :, :] (NC planes of HW values). */
export const gap2d_fwd = kernel({ name: 'gap2d_fwd', family: 'pool2d', inputs: ['x'], outputs: ['y'], params: [['NC', 'u32'], ['HW', 'u32']] });
export const gap2d_bwd = kernel({ name: 'gap2d_bwd', family: 'pool2d', inputs: ['dy'], outputs: ['dx'], params: [['NC', 'u32'], ['HW', 'u32']] });

export const pool2dKernels = [maxpool2d_fwd, maxpool2d_bwd, avgpool2d_fwd, avgpool2d_bwd, gap2d_fwd, gap2d_bwd];

/**
 * Max pooling over windows of x [N,C,H,W].
 *
 * @example
 *   const y = nn.functional.maxPool2d(x, { kernel: 3, stride: 2, padding: 1 }); // ImageNet stem
 */
export function maxPool2d(x: Tensor, attrs: Pool2dAttrs): Tensor {
  const backend = backendOf('maxPool2d', [x]);
  requireF32('maxPool2d', 'input', x);
  const g = pool2dGeometry('maxPool2d', x.shape, attrs);
  const y = output('maxPool2d', [g.N, g.C, g.P, g.Q], backend);
  const idx = output('maxPool2d indices', [g.N, g.C, g.P, g.Q], backend, 'i32');
  if (y.size > 0) dispatch(maxpool2d_fwd, g, [x], [y, idx]);
  record('maxPool2d', y, [x], [idx], (dy, [I]) => {
    const dx = output('maxPool2d dx', [g.N, g.C, g.H, g.W], dy.backend);
    if (dx.size > 0) dispatch(maxpool2d_bwd, g, [dy, I], [dx]);
    return [dx];
  });
  idx.dispose();
  return y;
}

/** Average pooling (padding counts as zeros in the mean). */
export function avgPool2d(x: Tensor, attrs: Pool2dAttrs): Tensor {
  const backend = backendOf('avgPool2d', [x]);
  requireF32('avgPool2d', 'input', x);
  const g = pool2dGeometry('avgPool2d', x.shape, attrs);
  const y = output('avgPool2d', [g.N, g.C, g.P, g.Q], backend);
  if (y.size > 0) dispatch(avgpool2d_fwd, g, [x], [y]);
  return record('avgPool2d', y, [x], [], (dy) => {
    const dx = output('avgPool2d dx', [g.N, g.C, g.H, g.W], dy.backend);
    if (dx.size > 0) dispatch(avgpool2d_bwd, g, [dy], [dx]);
    return [dx];
  });
}

/** Mean over H and W: [N,C,H,W] → [N,C,1,1]. */
export function globalAvgPool2d(x: Tensor): Tensor {
  const backend = backendOf('globalAvgPool2d', [x]);
  requireF32('globalAvgPool2d', 'input', x);
  if (x.rank !== 4) throw new Error(`globalAvgPool2d: input must be 4-D [N,C,H,W], got shape ${shapeStr(x.shape)}`);
  const [N, C, H, W] = x.shape;
  if (H * W === 0) throw new Error(`globalAvgPool2d: input ${shapeStr(x.shape)} has an empty plane`);
  const y = output('globalAvgPool2d', [N, C, 1, 1], backend);
  if (y.size > 0) dispatch(gap2d_fwd, { NC: N * C, HW: H * W }, [x], [y]);
  return record('globalAvgPool2d', y, [x], [], (dy) => {
    const dx = output('globalAvgPool2d dx', [N, C, H, W], dy.backend);
    if (dx.size > 0) dispatch(gap2d_bwd, { NC: N * C, HW: H * W }, [dy], [dx]);
    return [dx];
  });
}

// ---- launch plan (engine/ops/launch.ts): one invocation per output (forward) or input (backward) element

const perOutput = perItem((P) => P.N * P.C * P.P * P.Q);
const perInput = perItem((P) => P.N * P.C * P.H * P.W);
export const pool2dPlans: Record<string, LaunchPlan> = {
  maxpool2d_fwd: perOutput,
  avgpool2d_fwd: perOutput,
  maxpool2d_bwd: perInput,
  avgpool2d_bwd: perInput,
  gap2d_fwd: perItem((P) => P.NC),
  gap2d_bwd: perItem((P) => P.NC * P.HW),
};
