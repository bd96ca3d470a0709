// BatchNorm over the channels of an NCHW tensor (PyTorch's batch_norm for 4-D input).
//
// Letters: x, y [N,C,H,W]; per-channel vectors [C]; M = N·H·W values per channel; HW = H·W.
//
// Training:  μ_c = (1/M) Σ x,  σ²_c = (1/M) Σ (x − μ)²  (biased, used to normalise)
//            x̂ = (x − μ)/√(σ² + eps),  y = γ·x̂ + β
//            running_mean ← (1 − m)·running_mean + m·μ
//            running_var  ← (1 − m)·running_var  + m·σ²·M/(M − 1)   (unbiased), m = momentum (0.1)
// Eval:      μ, σ² are the running statistics; nothing is updated.
// Whether training mode updates the running statistics is the step context's call
// (engine/step_context.ts): inside `withFrozenRunningStats(fn)`, or an optimizer pass with
// `runningStats: false`, it still normalises with the batch statistics but leaves the running ones
// untouched.
//
// Backward (training), with Σ over the M values of channel c:
//   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ/√(σ²+eps) · (dy − dβ/M − x̂·dγ/M)
// Backward (eval): dβ, dγ as above (x̂ from the running stats), dx = γ/√(σ²+eps) · dy.
// Two per-channel reductions (bn_bwd_reduce) and one elementwise pass (bn_bwd_dx).

import { kernel } from '../kernel.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { shapeStr } from '../shape.js';
import { backendOf, dispatch, output, requireF32 } from './op.js';
import { grid1, pass, perItem, type LaunchPlan } from './launch.js';
import { full } from './elementwise.js';
import { passPolicy } from '../step_context.js';

const dims = [['N', 'u32'], ['C', 'u32'], ['HW', 'u32']] as const;

/** Per-channel batch mean and biased variance (two passes, fixed order). */
export const bn_stats = kernel({ name: 'bn_stats', family: 'batchnorm2d', inputs: ['x'], outputs: ['mean', 'var'], params: dims });
/** y = γ·(x − mean)/√(var + eps) + β. */
export const bn_fwd = kernel({ name: 'bn_fwd', family: 'batchnorm2d', inputs: ['x', 'mean', 'var', 'gamma', 'beta'], outputs: ['y'], params: [...dims, ['eps', 'f32']] });
/** In place: running ← (1 − m)·running + m·batch, the variance scaled by `unbias` = M/(M−1). */
export const bn_running = kernel({ name: 'bn_running', family: 'batchnorm2d', inputs: ['mean', 'var'], outputs: ['runningMean', 'runningVar'], params: [['C', 'u32'], ['momentum', 'f32'], ['unbias', 'f32']] });
/** dgamma = Σ dy·x̂, dbeta = Σ dy per channel. */
export const bn_bwd_reduce = kernel({ name: 'bn_bwd_reduce', family: 'batchnorm2d', inputs: ['x', 'dy', 'mean', 'var'], outputs: ['dgamma', 'dbeta'], params: [...dims, ['eps', 'f32']] });
/** dx (training: with the batch-statistics terms; eval: γ·invstd·dy). */
export const bn_bwd_dx = kernel({
  name: 'bn_bwd_dx', family: 'batchnorm2d', inputs: ['x', 'dy', 'mean', 'var', 'gamma', 'dgamma', 'dbeta'], outputs: ['dx'],
  params: [...dims, ['eps', 'f32'], ['training', 'u32']], constants: ['training'],
});

export const batchnorm2dKernels = [bn_stats, bn_fwd, bn_running, bn_bwd_reduce, bn_bwd_dx];

export interface BatchNorm2dAttrs {
  /** Use batch statistics and update the running ones (true), or use the running ones (false). */
  training?: boolean;
  /** Weight of the new batch statistics in the running average. Default 0.1. */
  momentum?: number;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
}

function checkVec(name: string, t: Tensor | null | undefined, C: number): void {
  if (!t) return;
  requireF32('batchNorm2d', name, t);
  if (t.rank !== 1 || t.shape[0] !== C) {
    throw new Error(`batchNorm2d: ${name} must be [${C}] for an input with ${C} channels, got ${shapeStr(t.shape)}`);
  }
}

/**
 * Batch normalisation of x [N,C,H,W]. In training mode, normalises with the batch statistics and
 * updates `runningMean`/`runningVar` in place (when given); in eval mode uses them.
 *
 * @example
 *   const y = nn.functional.batchNorm2d(x, bn.weight, bn.bias, bn.runningMean, bn.runningVar, { training: true });
 */
export function batchNorm2d(
  x: Tensor,
  weight: Tensor | null | undefined,
  bias: Tensor | null | undefined,
  runningMean: Tensor | null | undefined,
  runningVar: Tensor | null | undefined,
  attrs: BatchNorm2dAttrs = {},
): Tensor {
  const op = 'batchNorm2d';
  const backend = backendOf(op, [x, weight, bias, runningMean, runningVar]);
  requireF32(op, 'input', x);
  if (x.rank !== 4) throw new Error(`${op}: input must be 4-D [N,C,H,W], got shape ${shapeStr(x.shape)}`);
  const [N, C, H, W] = x.shape;
  checkVec('weight', weight, C);
  checkVec('bias', bias, C);
  checkVec('runningMean', runningMean, C);
  checkVec('runningVar', runningVar, C);
  const training = attrs.training ?? true;
  const momentum = attrs.momentum ?? 0.1;
  const eps = attrs.eps ?? 1e-5;
  if (!(eps > 0)) throw new Error(`${op}: eps must be > 0, got ${eps}`);
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`${op}: momentum must be in [0, 1], got ${momentum}`);
  const HW = H * W;
  const M = N * HW;
  if (!training && (!runningMean || !runningVar)) {
    throw new Error(`${op}: eval mode (training: false) needs runningMean and runningVar`);
  }
  if (training && M <= 1) {
    throw new Error(`${op}: expected more than 1 value per channel when training, got input ${shapeStr(x.shape)}`);
  }

  const gamma = weight ?? full([C], 1, { backend });
  const beta = bias ?? full([C], 0, { backend });
  let mean: Tensor;
  let vari: Tensor;
  if (training) {
    mean = output(`${op} mean`, [C], backend);
    vari = output(`${op} var`, [C], backend);
    dispatch(bn_stats, { N, C, HW }, [x], [mean, vari]);
    if (runningMean && runningVar && passPolicy().runningStats) {
      dispatch(bn_running, { C, momentum, unbias: M / (M - 1) }, [mean, vari], [runningMean, runningVar]);
    }
  } else {
    mean = runningMean!.detach();
    vari = runningVar!.detach();
  }
  const y = output(op, x.shape, backend);
  dispatch(bn_fwd, { N, C, HW, eps }, [x, mean, vari, gamma, beta], [y]);

  record(op, y, [x, weight, bias], [x, mean, vari, gamma], (dy, [X, MEAN, VAR, G], needs) => {
    const dgamma = output(`${op} dweight`, [C], X.backend);
    const dbeta = output(`${op} dbias`, [C], X.backend);
    dispatch(bn_bwd_reduce, { N, C, HW, eps }, [X, dy, MEAN, VAR], [dgamma, dbeta]);
    let dx: Tensor | null = null;
    if (needs[0]) {
      dx = output(`${op} dx`, X.shape, X.backend);
      dispatch(bn_bwd_dx, { N, C, HW, eps, training: training ? 1 : 0 }, [X, dy, MEAN, VAR, G, dgamma, dbeta], [dx]);
    }
    return [dx, needs[1] ? dgamma : (dgamma.dispose(), null), needs[2] ? dbeta : (dbeta.dispose(), null)];
  });
  mean.dispose();
  vari.dispose();
  if (!weight) gamma.dispose();
  if (!bias) beta.dispose();
  return y;
}

// ---- launch plan (engine/ops/launch.ts) ----------------------------------------------------------

const bnPartialParams = [['N', 'u32'], ['C', 'u32'], ['HW', 'u32'], ['S', 'u32']] as const;
/** Long channels: per-(channel, chunk) partial sums; the finish adds the S chunks in order. */
export const bn_stats_partial = kernel({ name: 'bn_stats_partial', family: 'batchnorm2d', inputs: ['x'], outputs: ['partials'], params: bnPartialParams });
export const bn_stats_finish = kernel({ name: 'bn_stats_finish', family: 'batchnorm2d', inputs: ['partials'], outputs: ['mean', 'var'], params: [['C', 'u32'], ['S', 'u32'], ['M', 'u32']] });
export const bn_bwd_reduce_partial = kernel({ name: 'bn_bwd_reduce_partial', family: 'batchnorm2d', inputs: ['x', 'dy', 'mean'], outputs: ['partials'], params: bnPartialParams });
export const bn_bwd_reduce_finish = kernel({ name: 'bn_bwd_reduce_finish', family: 'batchnorm2d', inputs: ['partials', 'var'], outputs: ['dgamma', 'dbeta'], params: [['C', 'u32'], ['S', 'u32'], ['eps', 'f32']] });
export const batchnorm2dHelperKernels = [bn_stats_partial, bn_stats_finish, bn_bwd_reduce_partial, bn_bwd_reduce_finish];

/** Per-channel reductions over more values than this use partial + finish passes. */
export const SERIAL_CHANNEL_MAX = 1024;

/** Chunks per channel for a per-channel reduction over M values: ~256 values each, at most 256. */
function channelSplits(M: number): number {
  return Math.min(256, Math.ceil(M / 256));
}

export const batchnorm2dPlans: Record<string, LaunchPlan> = {
  bn_stats: (ctx, k, P, inputs, outputs) => {
    const M = P.N * P.HW;
    if (M <= SERIAL_CHANNEL_MAX) return [pass(k, P, [...inputs, ...outputs], grid1(P.C))];
    const S = channelSplits(M);
    const parts = ctx.scratch(P.C * S * 3 * 4, `bn_stats partials [${P.C},${S},3]`);
    return [
      pass(bn_stats_partial, { N: P.N, C: P.C, HW: P.HW, S }, [inputs[0], parts], grid1(P.C * S)),
      pass(bn_stats_finish, { C: P.C, S, M }, [parts, outputs[0], outputs[1]], grid1(P.C)),
    ];
  },
  bn_bwd_reduce: (ctx, k, P, inputs, outputs) => {
    const M = P.N * P.HW;
    if (M <= SERIAL_CHANNEL_MAX) return [pass(k, P, [...inputs, ...outputs], grid1(P.C))];
    const S = channelSplits(M);
    const parts = ctx.scratch(P.C * S * 2 * 4, `bn_bwd_reduce partials [${P.C},${S},2]`);
    const [x, dy, mean, vari] = inputs;
    return [
      pass(bn_bwd_reduce_partial, { N: P.N, C: P.C, HW: P.HW, S }, [x, dy, mean, parts], grid1(P.C * S)),
      pass(bn_bwd_reduce_finish, { C: P.C, S, eps: P.eps }, [parts, vari, outputs[0], outputs[1]], grid1(P.C)),
    ];
  },
  bn_running: perItem((P) => P.C),
  bn_fwd: perItem((P) => P.N * P.C * P.HW),
  bn_bwd_dx: perItem((P) => P.N * P.C * P.HW),
};
