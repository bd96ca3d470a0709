// The `nn` namespace: functional ops, the Module base and the standard layers, initialisers.
export * as functional from './functional.js';
export * as init from './init.js';
export { Module, Lambda } from './module.js';
export { Conv2d, BatchNorm2d, Linear, ReLU, Dropout, MaxPool2d, AvgPool2d, GlobalAvgPool2d, Flatten, Sequential, CrossEntropyLoss, type Conv2dOptions } from './layers.js';
export { withFrozenRunningStats } from '../step_context.js';
