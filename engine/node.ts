// The engine's Node API: the engine plus its Node-only helpers. The package's Node entry is ../node.ts.
export * from './index.js';
// Node only: SwiftShader on GPU-less Linux. A CLI calls ensureSoftwareAdapterEnv() (or, to pass signals
// on to the re-run process, `await reexecWithSoftwareAdapter()`) first thing (it re-runs the process
// with the Vulkan loader on LD_LIBRARY_PATH when needed); see docs/WEBGPU.md.
export { ensureSoftwareAdapterEnv, reexecWithSoftwareAdapter, applySoftwareAdapterEnv, prepareSoftwareAdapterEnv, type AdapterEnvDecision } from './backends/webgpu_node_env.js';
