// The engine's WASM kernels: one file per op family, export names equal to the WGSL entry points and
// to the kernel names in engine/ops/*.ts. Buffers arrive as byte offsets into linear memory (owned by
// the JS-side allocator in engine/backends/wasm.ts); kernels never allocate.

export * from './elementwise';
export * from './reduce';
export * from './relu';
export * from './matmul';
export * from './conv2d';
export * from './batchnorm2d';
export * from './pool2d';
export * from './softmax_ce';
export * from './pad';
export * from './optim';

/** First byte the JS allocator may hand out (after AssemblyScript's static data). */
export function heap_base(): usize {
  return __heap_base;
}
