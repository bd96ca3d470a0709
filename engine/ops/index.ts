// The op registry: every op's public function, every kernel the backends must implement, and the
// launch plans of the kernels that need more than one invocation per element (engine/ops/launch.ts).
// Adding an op family = one import line here and one entry in `kernels` (and in `launchPlans` /
// `helperKernels` when it declares them); a test walks `kernels` and checks both backends implement
// every entry (WASM export / WGSL entry point of the same name).

import type { KernelSpec } from '../kernel.js';
import { installTensorOps } from '../tensor.js';
import { backward } from '../autograd.js';
import { add, sub, mul, square, full, clone, copyInto } from './elementwise.js';
import { sum, mean, sumSquares } from './reduce.js';
import { relu } from './relu.js';
import { reshape, flatten } from './reshape.js';
import { matmul } from './matmul.js';
import { argmax } from './softmax_ce.js';
import type { LaunchPlan, Tiles } from './launch.js';
import { elementwiseKernels } from './elementwise.js';
import { reduceKernels, reduceHelperKernels, reducePlans } from './reduce.js';
import { reluKernels } from './relu.js';
import { matmulKernels, matmulHelperKernels, matmulPlans, matmulTiles } from './matmul.js';
import { conv2dKernels, conv2dHelperKernels, conv2dPlans, conv2dTiles } from './conv2d.js';
import { batchnorm2dKernels, batchnorm2dHelperKernels, batchnorm2dPlans } from './batchnorm2d.js';
import { pool2dKernels, pool2dPlans } from './pool2d.js';
import { softmaxCeKernels, softmaxCeHelperKernels, softmaxCePlans } from './softmax_ce.js';
import { padKernels, padPlans } from './pad.js';
import { optimKernels, optimPlans } from './optim.js';
import { dropoutKernels } from './dropout.js';

export { add, sub, mul, neg, square, full, clone, copyInto } from './elementwise.js';
export { sum, mean, sumSquares, sumTo } from './reduce.js';
export { relu } from './relu.js';
export { reshape, flatten } from './reshape.js';
export { matmul, linear, mm } from './matmul.js';
export { conv2d, conv2dGeometry, type Conv2dAttrs } from './conv2d.js';
export { batchNorm2d, type BatchNorm2dAttrs } from './batchnorm2d.js';
export { maxPool2d, avgPool2d, globalAvgPool2d, pool2dGeometry, type Pool2dAttrs } from './pool2d.js';
export { crossEntropy, countCorrect, argmax, type CrossEntropyAttrs } from './softmax_ce.js';
export { padChannels } from './pad.js';

// Tensor's methods (engine/tensor.ts) and autograd call these; tensor.ts sits below the ops, so they
// are handed to it here, when the ops load (engine/create.ts imports this file, so any code that can
// make a tensor has them).
installTensorOps({ add, sub, mul, matmul, sum, mean, square, sumSquares, relu, argmax, reshape, flatten, copyInto, clone, full, backward });

/** Every kernel of the engine's ops, by family (= file stem in wgsl/ and assembly/). */
export const kernels: Record<string, readonly KernelSpec[]> = {
  elementwise: elementwiseKernels,
  reduce: reduceKernels,
  relu: reluKernels,
  matmul: matmulKernels,
  conv2d: conv2dKernels,
  batchnorm2d: batchnorm2dKernels,
  pool2d: pool2dKernels,
  softmax_ce: softmaxCeKernels,
  pad: padKernels,
  optim: optimKernels,
  dropout: dropoutKernels,
};

/**
 * The extra entry points of multi-pass launch plans, by family (engine/ops/launch.ts); the WGSL
 * checks walk them with `kernels`.
 */
export const helperKernels: Record<string, readonly KernelSpec[]> = {
  reduce: reduceHelperKernels,
  matmul: matmulHelperKernels,
  conv2d: conv2dHelperKernels,
  batchnorm2d: batchnorm2dHelperKernels,
  softmax_ce: softmaxCeHelperKernels,
};

/** Launch plans by kernel name; kernels without one run one invocation per element of `n`. */
export const launchPlans: Record<string, LaunchPlan> = {
  ...reducePlans,
  ...matmulPlans,
  ...conv2dPlans,
  ...batchnorm2dPlans,
  ...pool2dPlans,
  ...softmaxCePlans,
  ...padPlans,
  ...optimPlans,
};

/** Workgroup output tiles by family, read by the plans and (as WGSL constants) by the kernels. */
export const launchTiles: Record<string, Tiles> = {
  matmul: matmulTiles,
  conv2d: conv2dTiles,
};
