// The kernel contract: a kernel is plain data that every backend interprets the same way.
//
// A kernel's `name` is, at once, the WGSL entry point in `wgsl/<family>.wgsl`, the AssemblyScript
// export in `assembly/<family>.ts`, and the string a test greps for. Buffers are bound in the order
// inputs then outputs; params follow in `params` order (the WGSL uniform struct's field order and the
// AssemblyScript argument order). Shapes always travel as params, never as compile-time constants,
// so the WebGPU pipeline cache is keyed by kernel + `constants` only (not by shape).
//
// Not handled here: what a kernel computes. That lives in the op file that declares it
// (engine/ops/<family>.ts) and in its two implementations.

/** Scalar type of one kernel parameter (a u32/i32/f32 field of the uniform; an i32/f32 AS argument). */
export type ParamType = 'u32' | 'i32' | 'f32';

/** A kernel's declaration: names, binding order and parameter order. */
export interface KernelSpec<P extends string = string> {
  /** Entry point / export name: `<family>_<role>` in snake_case. */
  readonly name: string;
  /** File stem in `wgsl/` and `assembly/`. */
  readonly family: string;
  /** Read-only buffers, in binding order. */
  readonly inputs: readonly string[];
  /** Written buffers (bound read_write; a kernel may also read them, e.g. in-place updates). */
  readonly outputs: readonly string[];
  /** Scalar parameters, in uniform-field / argument order. */
  readonly params: readonly (readonly [P, ParamType])[];
  /**
   * Params that the WebGPU backend compiles in as `override` constants (part of the pipeline key):
   * flags that change the code path, never sizes.
   */
  readonly constants?: readonly P[];
}

/** Values for a kernel's params, keyed by name. */
export type KernelParams<K extends KernelSpec> = K extends KernelSpec<infer P> ? Record<P, number> : never;

/** Declares a kernel with literal-typed param names, so `run()` calls are checked by the compiler. */
export function kernel<const P extends string>(spec: {
  name: string;
  family: string;
  inputs: readonly string[];
  outputs: readonly string[];
  params: readonly (readonly [P, ParamType])[];
  constants?: readonly P[];
}): KernelSpec<P> {
  return Object.freeze(spec);
}
