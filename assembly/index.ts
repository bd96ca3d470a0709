// The engine's WASM kernels: one file per op family, export names equal to the WGSL entry points and
// to the kernel names in engine/ops/*.ts. Buffers arrive as byte offsets into linear memory (owned by
// the JS-side allocator in engine/backends/wasm.ts); kernels never allocate. A kernel needing scratch
// memory also exports `<kernel>_scratch(params…)` (bytes per thread); `set_thread` tells each thread's
// instance its index, the thread count and its scratch block before a call (assembly/parallel.ts).

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
export * from './dropout';
export { set_thread } from './parallel';

/** First byte the JS allocator may hand out (after AssemblyScript's static data). */
export function heap_base(): usize {
  return __heap_base;
}
