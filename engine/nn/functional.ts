// nn.functional: the layer ops under PyTorch's names (camelCase).
export { conv2d, type Conv2dAttrs } from '../ops/conv2d.js';
export { batchNorm2d, type BatchNorm2dAttrs } from '../ops/batchnorm2d.js';
export { linear } from '../ops/matmul.js';
export { maxPool2d, avgPool2d, globalAvgPool2d, type Pool2dAttrs } from '../ops/pool2d.js';
export { crossEntropy, countCorrect, argmax, type CrossEntropyAttrs } from '../ops/softmax_ce.js';
export { relu } from '../ops/relu.js';
export { flatten } from '../ops/reshape.js';
export { padChannels } from '../ops/pad.js';
export { dropout, type DropoutAttrs } from '../ops/dropout.js';
