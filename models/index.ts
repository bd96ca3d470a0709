// Model zoo. Names as the CLI's --model values.
export { ResNetCifar, BasicBlockA, resnet20, resnet32, resnet44, resnet56, resnet110, type ResNetCifarOptions } from './resnet_cifar.js';
