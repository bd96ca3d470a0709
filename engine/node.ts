// The Node entry point (`import ... from 'pugd'` in Node): the public API plus the Node-only backends.
export * from './index.js';
// Node only: SwiftShader on GPU-less Linux. A CLI calls ensureSoftwareAdapterEnv() (or, to pass signals
// on to the re-run process, `await reexecWithSoftwareAdapter()`) first thing (it re-runs the process
// with the Vulkan loader on LD_LIBRARY_PATH when needed); see docs/WEBGPU.md.
export { ensureSoftwareAdapterEnv, reexecWithSoftwareAdapter, applySoftwareAdapterEnv, prepareSoftwareAdapterEnv, type AdapterEnvDecision } from './backends/webgpu_node_env.js';
