// How the WebGPU backend runs each kernel of the registry: one or more passes (WGSL entry point,
// params, constants, buffers, workgroup counts). Single-pass kernels map 1:1 to their entry point;
// multi-pass kernels (two-level reductions, split-K weight gradient, row losses) are planned here,
// behind the one kernel name the ops dispatch, with scratch buffers from the backend's pool.
//
// Helper entry points (the extra passes) are declared below as kernel specs too, so the WGSL checks
// (tests/wgsl/compile.test.ts) hold them to the same contract: binding 0 = params in spec order,
// then inputs (read), then outputs (read_write).
//
// Variants per adapter: `regs` (barrier-free register blocking; CPU-backed adapters such as
// SwiftShader, where a workgroupBarrier() costs far more than the arithmetic it guards: a tiled matmul
// with barriers ran at 0.05 GFLOP/s there, the barrier-free 4×4 vec4 kernel at 0.5–1.4) and `tiled`
// (workgroup-memory tiling for matmul, conv2d forward and input gradient; GPUs). Both are tested on
// every machine. The weight gradient uses the split barrier-free kernel on both: its parallelism comes
// from the split over N·P·Q.
//
// Not handled: kernels whose buffers exceed maxStorageBufferBindingSize (the backend refuses the
// allocation with the size asked for).

import { kernel, type KernelSpec } from '../kernel.js';
import type { Buf } from '../backend.js';
import { CHUNK as OPTIM_CHUNK } from '../ops/optim.js';

/** One compute dispatch. */
export interface Pass {
  /** WGSL entry point. */
  entry: string;
  /** wgsl/<family>.wgsl holding it. */
  family: string;
  /** Param layout of its uniform (the registry spec, or a helper spec below). */
  spec: KernelSpec;
  params: Record<string, number>;
  /** Override constants (pipeline key). */
  constants: Record<string, number>;
  /** Inputs then outputs, in binding order 1, 2, … */
  buffers: readonly Buf[];
  workgroups: readonly [number, number, number];
}

export type Variant = 'regs' | 'tiled';

/** What a plan may ask of the backend. */
export interface PlanContext {
  variant: Variant;
  /** A scratch buffer (freed by the backend once the passes are encoded). */
  scratch(bytes: number, label: string): Buf;
}

// ---- helper entry points ----------------------------------------------------------------------

export const reduce_partial = kernel({ name: 'reduce_partial', family: 'reduce', inputs: ['x'], outputs: ['partials'], params: [['n', 'u32'], ['T', 'u32']], constants: [] });
export const reduce_splits = kernel({ name: 'reduce_splits', family: 'reduce', inputs: ['partials'], outputs: ['y'], params: [['count', 'u32'], ['splits', 'u32']] });
export const matmul_fwd_tiled = kernel({
  name: 'matmul_fwd_tiled', family: 'matmul', inputs: ['a', 'b'], outputs: ['c'],
  params: [['M', 'u32'], ['K', 'u32'], ['N', 'u32'], ['transA', 'u32'], ['transB', 'u32']], constants: ['transA', 'transB'],
});
const convGeom = [
  ['N', 'u32'], ['C', 'u32'], ['H', 'u32'], ['W', 'u32'], ['K', 'u32'], ['R', 'u32'], ['S', 'u32'],
  ['P', 'u32'], ['Q', 'u32'], ['strideH', 'u32'], ['strideW', 'u32'], ['padH', 'u32'], ['padW', 'u32'],
] as const;
export const conv2d_fwd_tiled = kernel({ name: 'conv2d_fwd_tiled', family: 'conv2d', inputs: ['x', 'w'], outputs: ['y'], params: convGeom });
export const conv2d_bwd_x_tiled = kernel({ name: 'conv2d_bwd_x_tiled', family: 'conv2d', inputs: ['dy', 'w'], outputs: ['dx'], params: convGeom });
export const conv2d_bwd_w_split = kernel({
  name: 'conv2d_bwd_w_split', family: 'conv2d', inputs: ['x', 'dy'], outputs: ['partials'],
  params: [...convGeom, ['splits', 'u32'], ['chunk', 'u32']],
});
const bnPartialParams = [['N', 'u32'], ['C', 'u32'], ['HW', 'u32'], ['S', 'u32']] as const;
export const bn_stats_partial = kernel({ name: 'bn_stats_partial', family: 'batchnorm2d', inputs: ['x'], outputs: ['partials'], params: bnPartialParams });
export const bn_stats_finish = kernel({ name: 'bn_stats_finish', family: 'batchnorm2d', inputs: ['partials'], outputs: ['mean', 'var'], params: [['C', 'u32'], ['S', 'u32'], ['M', 'u32']] });
export const bn_bwd_reduce_partial = kernel({ name: 'bn_bwd_reduce_partial', family: 'batchnorm2d', inputs: ['x', 'dy', 'mean'], outputs: ['partials'], params: bnPartialParams });
export const bn_bwd_reduce_finish = kernel({ name: 'bn_bwd_reduce_finish', family: 'batchnorm2d', inputs: ['partials', 'var'], outputs: ['dgamma', 'dbeta'], params: [['C', 'u32'], ['S', 'u32'], ['eps', 'f32']] });
const ceParams = [['N', 'u32'], ['C', 'u32'], ['smoothing', 'f32'], ['scale', 'f32']] as const;
export const softmax_ce_rows = kernel({ name: 'softmax_ce_rows', family: 'softmax_ce', inputs: ['logits', 'labels'], outputs: ['probs', 'rowLoss'], params: ceParams });
export const softmax_ce_correct_rows = kernel({ name: 'softmax_ce_correct_rows', family: 'softmax_ce', inputs: ['logits', 'labels'], outputs: ['hits'], params: [['N', 'u32'], ['C', 'u32']] });

/** Every helper entry point, by family (the compile test walks these with the registry). */
export const helperKernels: Record<string, readonly KernelSpec[]> = {
  reduce: [reduce_partial, reduce_splits],
  matmul: [matmul_fwd_tiled],
  conv2d: [conv2d_fwd_tiled, conv2d_bwd_x_tiled, conv2d_bwd_w_split],
  batchnorm2d: [bn_stats_partial, bn_stats_finish, bn_bwd_reduce_partial, bn_bwd_reduce_finish],
  softmax_ce: [softmax_ce_rows, softmax_ce_correct_rows],
};

// ---- geometry helpers --------------------------------------------------------------------------

const MAX_DIM = 65535;

/** Workgroups for a 1-D kernel of @workgroup_size(64) over n items, spread over x and y. */
export function grid1(n: number): [number, number, number] {
  const g = Math.max(1, Math.ceil(n / 64));
  if (g <= MAX_DIM) return [g, 1, 1];
  const x = 32768;
  return [x, Math.ceil(g / x), 1];
}

/** Workgroups for a 2-D block kernel: `cols` column tiles folded into z above 65535, `rows` row tiles. */
function grid2(colTiles: number, rowTiles: number): [number, number, number] {
  if (rowTiles > MAX_DIM) throw new Error(`webgpu: ${rowTiles} row tiles exceed the dispatch limit of ${MAX_DIM}`);
  if (colTiles <= MAX_DIM) return [Math.max(1, colTiles), Math.max(1, rowTiles), 1];
  // Kernels compute the column tile as wid.x + wid.z·nwg.x and return when it is past the end.
  const z = Math.ceil(colTiles / MAX_DIM);
  return [Math.ceil(colTiles / z), rowTiles, z];
}

/**
 * Output tile of one workgroup of the GEMM-like kernels, [columns, rows] of the GEMM output; must
 * match the WGSL (invocation block × @workgroup_size). @internal: the kernel lab (bench/lab/) swaps it
 * together with a variant's source.
 */
export const gemmTiles: Record<string, [number, number]> = {
  matmul_fwd: [32, 32],
  matmul_fwd_tiled: [64, 64],
  conv2d_fwd: [64, 32],
  conv2d_fwd_tiled: [64, 64],
  conv2d_bwd_x: [64, 32],
  conv2d_bwd_x_tiled: [64, 64],
  conv2d_bwd_w: [64, 32],
};

/** Full reductions above this size go through reduce_partial first. */
export const SERIAL_REDUCE_MAX = 4096;
/** Per-channel reductions over more values than this use partial + finish passes. */
export const SERIAL_CHANNEL_MAX = 1024;

function pass(spec: KernelSpec, params: Record<string, number>, buffers: readonly Buf[], workgroups: readonly [number, number, number], entry = spec.name): Pass {
  const constants: Record<string, number> = {};
  for (const c of spec.constants ?? []) constants[c] = params[c];
  return { entry, family: spec.family, spec, params, constants, buffers, workgroups };
}

/** Passes of a full sum of `x` (n values) into y[0], times `scale`; squared values when `squares`. */
function fullReduce(ctx: PlanContext, spec: KernelSpec, sumSpec: KernelSpec, x: Buf, y: Buf, n: number, scale: number, squares: boolean): Pass[] {
  if (n <= SERIAL_REDUCE_MAX) return [pass(spec, { n, scale }, [x, y], [1, 1, 1])];
  // T partials of ~64 values each, at most 2048 (the finish then sums ≤ 2048 values in order).
  const T = Math.min(2048, Math.ceil(n / 64));
  const parts = ctx.scratch(T * 4, `${spec.name} partials [${T}]`);
  const p1 = pass(reduce_partial, { n, T }, [x, parts], grid1(T));
  p1.constants = { SQUARE: squares ? 1 : 0 };
  return [p1, pass(sumSpec, { n: T, scale }, [parts, y], [1, 1, 1])];
}

/** Chunks per channel for a per-channel reduction over M values: ~256 values each, at most 256. */
function channelSplits(M: number): number {
  return Math.min(256, Math.ceil(M / 256));
}

/**
 * The passes for one registry kernel. `find` returns the registry spec of a kernel by name (the plan
 * for softmax_ce_fwd reuses reduce_sum, for example).
 */
export function planKernel(
  ctx: PlanContext,
  k: KernelSpec,
  params: Record<string, number>,
  inputs: readonly Buf[],
  outputs: readonly Buf[],
  find: (name: string) => KernelSpec,
): Pass[] {
  const io = [...inputs, ...outputs];
  const P = params;
  switch (k.name) {
    case 'reduce_sum':
    case 'reduce_sumsq':
      return fullReduce(ctx, k, find('reduce_sum'), inputs[0], outputs[0], P.n, P.scale, k.name === 'reduce_sumsq');
    case 'reduce_to':
      return [pass(k, P, io, grid1(P.nout))];
    case 'matmul_fwd': {
      const spec = ctx.variant === 'tiled' ? matmul_fwd_tiled : k;
      const [tc, tr] = gemmTiles[spec.name];
      return [pass(spec, P, io, grid2(Math.ceil(P.N / tc), Math.ceil(P.M / tr)))];
    }
    case 'conv2d_fwd': {
      const spec = ctx.variant === 'tiled' ? conv2d_fwd_tiled : k;
      const [tc, tr] = gemmTiles[spec.name];
      return [pass(spec, P, io, grid2(Math.ceil((P.N * P.P * P.Q) / tc), Math.ceil(P.K / tr)))];
    }
    case 'conv2d_bwd_x': {
      const spec = ctx.variant === 'tiled' ? conv2d_bwd_x_tiled : k;
      const [tc, tr] = gemmTiles[spec.name];
      return [pass(spec, P, io, grid2(Math.ceil((P.N * P.H * P.W) / tc), Math.ceil(P.C / tr)))];
    }
    case 'conv2d_bwd_w': {
      const CRS = P.C * P.R * P.S;
      const NPQ = P.N * P.P * P.Q;
      const tiles: [number, number] = [Math.ceil(CRS / gemmTiles.conv2d_bwd_w[0]), Math.ceil(P.K / gemmTiles.conv2d_bwd_w[1])];
      // Split N·P·Q so that every split has ≥ 512 terms, up to 64 splits, and only while the partials
      // stay under 2^20 values (4 MiB): enough workgroups to fill a GPU for the small K·C·R·S of early
      // layers; late layers (K·C·R·S in the millions) have parallelism enough unsplit.
      const splits = Math.min(64, Math.floor(NPQ / 512), Math.floor(2 ** 20 / (P.K * CRS)));
      if (splits <= 1) return [pass(k, P, io, [tiles[0], tiles[1], 1])];
      const chunk = Math.ceil(NPQ / splits);
      const used = Math.ceil(NPQ / chunk);
      const count = P.K * CRS;
      const parts = ctx.scratch(used * count * 4, `conv2d dw partials [${used},${P.K},${CRS}]`);
      return [
        pass(conv2d_bwd_w_split, { ...P, splits: used, chunk }, [inputs[0], inputs[1], parts], [tiles[0], tiles[1], used]),
        pass(reduce_splits, { count, splits: used }, [parts, outputs[0]], grid1(count)),
      ];
    }
    case 'bn_stats': {
      const M = P.N * P.HW;
      if (M <= SERIAL_CHANNEL_MAX) return [pass(k, P, io, grid1(P.C))];
      const S = channelSplits(M);
      const parts = ctx.scratch(P.C * S * 3 * 4, `bn_stats partials [${P.C},${S},3]`);
      return [
        pass(bn_stats_partial, { N: P.N, C: P.C, HW: P.HW, S }, [inputs[0], parts], grid1(P.C * S)),
        pass(bn_stats_finish, { C: P.C, S, M }, [parts, outputs[0], outputs[1]], grid1(P.C)),
      ];
    }
    case 'bn_bwd_reduce': {
      const M = P.N * P.HW;
      if (M <= SERIAL_CHANNEL_MAX) return [pass(k, P, io, grid1(P.C))];
      const S = channelSplits(M);
      const parts = ctx.scratch(P.C * S * 2 * 4, `bn_bwd_reduce partials [${P.C},${S},2]`);
      const [x, dy, mean, vari] = inputs;
      return [
        pass(bn_bwd_reduce_partial, { N: P.N, C: P.C, HW: P.HW, S }, [x, dy, mean, parts], grid1(P.C * S)),
        pass(bn_bwd_reduce_finish, { C: P.C, S, eps: P.eps }, [parts, vari, outputs[0], outputs[1]], grid1(P.C)),
      ];
    }
    case 'bn_running':
      return [pass(k, P, io, grid1(P.C))];
    case 'bn_fwd':
    case 'bn_bwd_dx':
      return [pass(k, P, io, grid1(P.N * P.C * P.HW))];
    case 'softmax_ce_fwd': {
      if (P.N <= 4) return [pass(k, P, io, [1, 1, 1])];
      const rows = ctx.scratch(P.N * 4, `softmax_ce row losses [${P.N}]`);
      const [logits, labels] = inputs;
      const [probs, loss] = outputs;
      return [
        pass(softmax_ce_rows, P, [logits, labels, probs, rows], grid1(P.N)),
        ...fullReduce(ctx, find('reduce_sum'), find('reduce_sum'), rows, loss, P.N, P.scale, false),
      ];
    }
    case 'softmax_ce_correct': {
      if (P.N <= 4) return [pass(k, P, io, [1, 1, 1])];
      const hits = ctx.scratch(P.N * 4, `softmax_ce hits [${P.N}]`);
      return [
        pass(softmax_ce_correct_rows, P, [inputs[0], inputs[1], hits], grid1(P.N)),
        ...fullReduce(ctx, find('reduce_sum'), find('reduce_sum'), hits, outputs[0], P.N, 1, false),
      ];
    }
    case 'softmax_ce_bwd':
      return [pass(k, P, io, grid1(P.N * P.C))];
    case 'softmax_ce_argmax':
      return [pass(k, P, io, grid1(P.N))];
    case 'maxpool2d_fwd':
    case 'avgpool2d_fwd':
      return [pass(k, P, io, grid1(P.N * P.C * P.P * P.Q))];
    case 'maxpool2d_bwd':
    case 'avgpool2d_bwd':
      return [pass(k, P, io, grid1(P.N * P.C * P.H * P.W))];
    case 'gap2d_fwd':
      return [pass(k, P, io, grid1(P.NC))];
    case 'gap2d_bwd':
      return [pass(k, P, io, grid1(P.NC * P.HW))];
    case 'pad_channels_fwd':
      return [pass(k, P, io, grid1(P.N * (P.before + P.C + P.after) * P.HW))];
    case 'pad_channels_bwd':
      return [pass(k, P, io, grid1(P.N * P.C * P.HW))];
    case 'optim_sumsq':
    case 'optim_sumsq_wg':
    case 'optim_sumsq_add':
      // One 256-invocation workgroup per CHUNK-element norm slot (wgsl/optim.wgsl).
      return [pass(k, P, io, [Math.max(1, Math.ceil(P.n / OPTIM_CHUNK)), 1, 1])];
    case 'optim_norm_finish':
      return [pass(k, P, io, [1, 1, 1])];
    default:
      // Elementwise kernels (ew_*, relu_*, reduce_*_bwd, optim_perturb/_sgd_step/_adam_step): one
      // invocation per element, n in params.
      if (typeof P.n !== 'number') throw new Error(`webgpu: no dispatch plan for kernel '${k.name}' (family ${k.family}): add a case to planKernel in engine/backends/webgpu_plans.ts (kernels with an element count 'n' get one invocation per element by default)`);
      return [pass(k, P, io, grid1(P.n))];
  }
}
