// Channel padding: y[n, c + before, h, w] = x[n, c, h, w], zeros in the `before` first and `after`
// last channels. With a stride-2 subsample (avgPool2d kernel 1, stride 2) it forms the parameter-free
// "option A" shortcut of He et al. 2016's CIFAR ResNets. Backward: dx[n,c,h,w] = dy[n, c + before, h, w].

import { kernel } from '../kernel.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { shapeStr } from '../shape.js';
import { backendOf, dispatch, output, requireF32 } from './op.js';
import { perItem, type LaunchPlan } from './launch.js';

const params = [['N', 'u32'], ['C', 'u32'], ['HW', 'u32'], ['before', 'u32'], ['after', 'u32']] as const;
export const pad_channels_fwd = kernel({ name: 'pad_channels_fwd', family: 'pad', inputs: ['x'], outputs: ['y'], params });
export const pad_channels_bwd = kernel({ name: 'pad_channels_bwd', family: 'pad', inputs: ['dy'], outputs: ['dx'], params });
export const padKernels = [pad_channels_fwd, pad_channels_bwd];

/** Zero-pads the channel dimension of x [N,C,H,W] → [N, before + C + after, H, W]. */
export function padChannels(x: Tensor, before: number, after: number): Tensor {
  const op = 'padChannels';
  const backend = backendOf(op, [x]);
  requireF32(op, 'input', x);
  if (x.rank !== 4) throw new Error(`${op}: input must be 4-D [N,C,H,W], got shape ${shapeStr(x.shape)}`);
  if (!Number.isInteger(before) || !Number.isInteger(after) || before < 0 || after < 0) {
    throw new Error(`${op}: before and after must be integers ≥ 0, got ${before} and ${after}`);
  }
  const [N, C, H, W] = x.shape;
  const p = { N, C, HW: H * W, before, after };
  const y = output(op, [N, before + C + after, H, W], backend);
  if (y.size > 0) dispatch(pad_channels_fwd, p, [x], [y]);
  return record(op, y, [x], [], (dy) => {
    const dx = output(`${op} dx`, [N, C, H, W], dy.backend);
    if (dx.size > 0) dispatch(pad_channels_bwd, p, [dy], [dx]);
    return [dx];
  });
}

// ---- launch plan (engine/ops/launch.ts): one invocation per output element

export const padPlans: Record<string, LaunchPlan> = {
  pad_channels_fwd: perItem((P) => P.N * (P.before + P.C + P.after) * P.HW),
  pad_channels_bwd: perItem((P) => P.N * P.C * P.HW),
};
