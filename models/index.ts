// Model zoo. Names as the CLI's --model values (see models/registry.ts).
export { ResNetCifar, BasicBlockA, resnet20, resnet32, resnet44, resnet56, resnet110, type ResNetCifarOptions } from './resnet_cifar.js';
export { ResNet, BasicBlock, resnet18, resnet34, type ResNetOptions, type ResNetStem } from './resnet.js';
export { PreActResNet, PreActBlock, preactResnet18, type PreActResNetOptions } from './preact_resnet.js';
export { WideResNet, WideBasicBlock, NetworkBlock, wideResnet28x10, type WideResNetOptions } from './wide_resnet.js';
export { createModel, modelNames, describeModels, checkModelName, type ModelSpec, type CreateModelOptions } from './registry.js';
