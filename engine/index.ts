// The engine's public API. The package's entry (../index.ts) re-exports it beside the model zoo and
// the data sets, which sit above the engine: nothing under engine/ imports models/ or datasets/.
// Outside checks use exactly these names; extend, never rename.

export { setBackend, getBackend, disposeBackend, registeredBackends, setBackendLogger, profileStep, profileReport, type Backend, type BackendInfo, type BackendName, type BackendOptions } from './backend.js';
export { formatProfile, type ProfileReport, type KernelStats, type StepStats } from './profiler.js';
export { Tensor, tidy, keep, dispose, memory, type DType, type MemoryInfo, type TensorContainer } from './tensor.js';
export { tensor, zeros, ones, randn, rand, type TensorOptions } from './create.js';
export { noGrad, isGradEnabled } from './autograd.js';
export { Generator, manualSeed } from './random.js';
export { add, sub, mul, neg, square, sum, mean, sumSquares, relu, reshape, flatten, matmul, clone, full, argmax } from './ops/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as io from './io/index.js';
import './backends/wasm.js';
import './backends/webgpu.js';
export { setWebGpuDebug } from './backends/webgpu.js';
