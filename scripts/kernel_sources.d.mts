// Types of scripts/kernel_sources.mjs, for vitest.config.ts and the tests.
export declare const KERNEL_SOURCES_MANIFEST: string;
/** SHA-256 of every kernel source under `root` (wgsl/*.wgsl, assembly/**), by relative path. */
export declare function kernelSourceHashes(root: string): Record<string, string>;
/** null when the embedded kernels match the sources on disk; else "stale kernels: run npm run build (…)". */
export declare function staleKernels(root: string): string | null;
