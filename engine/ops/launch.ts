// Launch plans: how a GPU backend dispatches each kernel of the registry, declared by the op family
// beside its kernel specs (engine/ops/<family>.ts, section "launch plan"). A plan turns one kernel
// call (params and buffers, as the op dispatches it) into one or more passes: entry point, params,
// override constants, buffers and workgroup counts. Single-pass kernels map 1:1 to their entry point;
// multi-pass kernels (two-level reductions, split-K weight gradient, row losses) name their helper
// entry points, which are kernel specs too (binding 0 = params in spec order, then inputs, then
// outputs), so the WGSL checks (tests/wgsl/compile.test.ts) hold them to the same contract. The WebGPU
// backend (engine/backends/webgpu.ts) compiles, binds and encodes the passes and knows no kernel by
// name; a kernel without a plan gets one invocation per element of its param `n`.
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

import type { KernelSpec } from '../kernel.js';
import type { Buf } from '../backend.js';

/** One compute dispatch. */
export interface Pass {
  /** WGSL entry point. */
  entry: string;
  /** wgsl/<family>.wgsl holding it. */
  family: string;
  /** Param layout of its uniform (the registry spec, or a helper spec). */
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

/** The passes for one call of kernel `k`. */
export type LaunchPlan = (ctx: PlanContext, k: KernelSpec, params: Record<string, number>, inputs: readonly Buf[], outputs: readonly Buf[]) => Pass[];

const MAX_DIM = 65535;

/** Workgroups for a 1-D kernel of @workgroup_size(64) over n items, spread over x and y. */
export function grid1(n: number): [number, number, number] {
  const g = Math.max(1, Math.ceil(n / 64));
  if (g <= MAX_DIM) return [g, 1, 1];
  const x = 32768;
  return [x, Math.ceil(g / x), 1];
}

/** Workgroups for a 2-D block kernel: `cols` column tiles folded into z above 65535, `rows` row tiles. */
export function grid2(colTiles: number, rowTiles: number): [number, number, number] {
  if (rowTiles > MAX_DIM) throw new Error(`webgpu: ${rowTiles} row tiles exceed the dispatch limit of ${MAX_DIM}`);
  if (colTiles <= MAX_DIM) return [Math.max(1, colTiles), Math.max(1, rowTiles), 1];
  // Kernels compute the column tile as wid.x + wid.z·nwg.x and return when it is past the end.
  const z = Math.ceil(colTiles / MAX_DIM);
  return [Math.ceil(colTiles / z), rowTiles, z];
}

/** One pass of `spec` (its override constants taken from `params`). */
export function pass(spec: KernelSpec, params: Record<string, number>, buffers: readonly Buf[], workgroups: readonly [number, number, number], entry = spec.name): Pass {
  const constants: Record<string, number> = {};
  for (const c of spec.constants ?? []) constants[c] = params[c];
  return { entry, family: spec.family, spec, params, constants, buffers, workgroups };
}

/** A single pass of the kernel itself over `count(params)` invocations of a 1-D @workgroup_size(64). */
export function perItem(count: (P: Record<string, number>) => number): LaunchPlan {
  return (_ctx, k, P, inputs, outputs) => [pass(k, P, [...inputs, ...outputs], grid1(count(P)))];
}

/** The plan of kernels that declare none: one invocation per element, `n` in params. */
export const perElement: LaunchPlan = (_ctx, k, P, inputs, outputs) => {
  if (typeof P.n !== 'number') {
    throw new Error(`webgpu: no launch plan for kernel '${k.name}' (family ${k.family}): declare one in engine/ops/${k.family}.ts (kernels with an element count 'n' get one invocation per element by default)`);
  }
  return [pass(k, P, [...inputs, ...outputs], grid1(P.n))];
};

/**
 * Output tiles of the GEMM-like entry points of a family, [columns, rows] of one workgroup's output,
 * declared once, in the family file. The WGSL does not repeat them: the backend prepends
 * `const <ENTRY>_TILE_COLS: u32` and `<ENTRY>_TILE_ROWS` (tileConstantsWgsl) to the family's source,
 * and the kernels derive their @workgroup_size and indexing from those, so the plan's workgroup
 * counts and the kernels cannot disagree.
 */
export type Tiles = Record<string, [number, number]>;

/** The WGSL declarations of `tiles` (one line per constant, entry names upper-cased). */
export function tileConstantsWgsl(tiles: Tiles): string {
  return Object.entries(tiles)
    .map(([entry, [cols, rows]]) => `const ${entry.toUpperCase()}_TILE_COLS: u32 = ${cols}u;\nconst ${entry.toUpperCase()}_TILE_ROWS: u32 = ${rows}u;\n`)
    .join('');
}
