// ResNet-18 and ResNet-34 (He et al. 2016) with basic blocks and projection shortcuts, in
// torchvision's layout and names: conv1, bn1, layer{1..4}.{i}.{conv1,bn1,conv2,bn2},
// layer{2,3,4}.0.downsample.{0 (1×1 conv), 1 (BN)}, fc. Weights move to and from
// `torchvision.models.resnet18/34` (ImageNet stem) key for key.
//
// Two stems:
//   'imagenet': 7×7 conv stride 2 + 3×3 max-pool stride 2 (torchvision; for 64×64 Tiny ImageNet this
//               gives 16×16 maps entering layer1 and 2×2 at layer4);
//   'cifar':    3×3 conv stride 1 and no max-pool (the usual CIFAR adaptation, as in kuangliu's
//               pytorch-cifar, whose names differ: `shortcut.{0,1}` and `linear` instead of
//               `downsample.{0,1}` and `fc`).
// Initialisation as torchvision: kaiming_normal_(fan_out, relu) for convs, BN γ=1 β=0, PyTorch's default
// for the classifier. Not handled: bottleneck blocks (ResNet-50+), zero_init_residual, groups/dilation.

import { Module } from '../engine/nn/module.js';
import { BatchNorm2d, Conv2d, Linear, Sequential } from '../engine/nn/layers.js';
import * as F from '../engine/nn/functional.js';
import { kaimingNormal } from '../engine/nn/init.js';
import { tidy, type Tensor } from '../engine/tensor.js';
import type { Generator } from '../engine/random.js';

/** A bias-free conv initialised as torchvision does (kaiming_normal_, mode fan_out, gain √2). */
export function convFanOut(inC: number, outC: number, k: number, stride: number, padding: number, generator?: Generator): Conv2d {
  return new Conv2d(inC, outC, k, { stride, padding, bias: false, init: (s) => kaimingNormal(s, { mode: 'fanOut', generator }) });
}

/** torchvision's BasicBlock: conv3×3-BN-ReLU-conv3×3-BN, + identity or downsample(x), ReLU. */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;
  constructor(inPlanes: number, planes: number, stride: number, generator?: Generator) {
    super();
    this.conv1 = this.module('conv1', convFanOut(inPlanes, planes, 3, stride, 1, generator));
    this.bn1 = this.module('bn1', new BatchNorm2d(planes));
    this.conv2 = this.module('conv2', convFanOut(planes, planes, 3, 1, 1, generator));
    this.bn2 = this.module('bn2', new BatchNorm2d(planes));
    this.downsample = stride !== 1 || inPlanes !== planes
      ? this.module('downsample', new Sequential(convFanOut(inPlanes, planes, 1, stride, 0, generator), new BatchNorm2d(planes)))
      : null;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const out = this.bn2.forward(this.conv2.forward(F.relu(this.bn1.forward(this.conv1.forward(x)))));
      const sc = this.downsample ? this.downsample.forward(x) : x;
      return F.relu(out.add(sc));
    });
  }
}

export type ResNetStem = 'imagenet' | 'cifar';

export interface ResNetOptions {
  /** Output classes (1000 for ImageNet, 200 for Tiny ImageNet, 10 for CIFAR-10). */
  numClasses?: number;
  inChannels?: number;
  /** 'imagenet' (7×7/2 conv + max-pool, the default, as torchvision) or 'cifar' (3×3/1 conv, no pool). */
  stem?: ResNetStem;
  /** Width of layer1 (64 in the paper); the stages use w, 2w, 4w, 8w. */
  width?: number;
  generator?: Generator;
}

export class ResNet extends Module {
  readonly stem: ResNetStem;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly fc: Linear;

  /** `blocks`: basic blocks per stage ([2,2,2,2] for ResNet-18, [3,4,6,3] for ResNet-34). */
  constructor(readonly blocks: readonly [number, number, number, number], opts: ResNetOptions = {}) {
    super();
    if (blocks.length !== 4 || blocks.some((b) => !Number.isInteger(b) || b < 1)) {
      throw new Error(`ResNet: blocks must be four positive integers, got [${blocks.join(', ')}]`);
    }
    const g = opts.generator;
    const w = opts.width ?? 64;
    if (!Number.isInteger(w) || w < 1) throw new Error(`ResNet: width must be a positive integer, got ${w}`);
    this.stem = opts.stem ?? 'imagenet';
    if (this.stem !== 'imagenet' && this.stem !== 'cifar') throw new Error(`ResNet: stem must be 'imagenet' or 'cifar', got '${String(this.stem)}'`);
    const inC = opts.inChannels ?? 3;
    this.conv1 = this.module('conv1', this.stem === 'imagenet' ? convFanOut(inC, w, 7, 2, 3, g) : convFanOut(inC, w, 3, 1, 1, g));
    this.bn1 = this.module('bn1', new BatchNorm2d(w));
    let inPlanes = w;
    const stage = (planes: number, n: number, stride: number) => {
      const bs: BasicBlock[] = [];
      for (let i = 0; i < n; i++) {
        bs.push(new BasicBlock(inPlanes, planes, i === 0 ? stride : 1, g));
        inPlanes = planes;
      }
      return new Sequential(...bs);
    };
    this.layer1 = this.module('layer1', stage(w, blocks[0], 1));
    this.layer2 = this.module('layer2', stage(2 * w, blocks[1], 2));
    this.layer3 = this.module('layer3', stage(4 * w, blocks[2], 2));
    this.layer4 = this.module('layer4', stage(8 * w, blocks[3], 2));
    this.fc = this.module('fc', new Linear(8 * w, opts.numClasses ?? 1000, { generator: g }));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = F.relu(this.bn1.forward(this.conv1.forward(x)));
      if (this.stem === 'imagenet') h = F.maxPool2d(h, { kernel: 3, stride: 2, padding: 1 });
      for (const layer of [this.layer1, this.layer2, this.layer3, this.layer4]) h = layer.forward(h);
      return this.fc.forward(F.flatten(F.globalAvgPool2d(h)));
    });
  }
}

export const resnet18 = (o?: ResNetOptions) => new ResNet([2, 2, 2, 2], o);
export const resnet34 = (o?: ResNetOptions) => new ResNet([3, 4, 6, 3], o);
