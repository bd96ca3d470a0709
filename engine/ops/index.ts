// The op registry: every op's public function, and every kernel the backends must implement.
// Adding an op family = one import line here and one entry in `kernels`; a test walks `kernels` and
// checks both backends implement every entry (WASM export / WGSL entry point of the same name).

import type { KernelSpec } from '../kernel.js';
import { elementwiseKernels } from './elementwise.js';
import { reduceKernels } from './reduce.js';
import { reluKernels } from './relu.js';
import { matmulKernels } from './matmul.js';
import { conv2dKernels } from './conv2d.js';
import { batchnorm2dKernels } from './batchnorm2d.js';
import { pool2dKernels } from './pool2d.js';
import { softmaxCeKernels } from './softmax_ce.js';
import { padKernels } from './pad.js';
import { optimKernels } from './optim.js';
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
