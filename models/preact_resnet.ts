// PreAct-ResNet-18 (He et al. 2016, "Identity Mappings in Deep Residual Networks") for 32×32 inputs:
// a 3×3 stem conv (no BN/ReLU: the blocks pre-activate), four stages of two pre-activation blocks
// (BN-ReLU-conv3×3-BN-ReLU-conv3×3, + identity or a 1×1 conv of the pre-activated input), a final
// BN-ReLU, global average pooling and a linear classifier.
//
// Names follow torchvision's conventions (conv1, layer1.0.bn1, layer1.0.conv1, layer2.0.downsample.0,
// fc) plus `bn` for the final BatchNorm. The structure is that of locuslab/robust_overfitting's
// PreActResNet18 (and kuangliu's pytorch-cifar plus the paper's final BN-ReLU); weights move to and
// from it after renaming `downsample.0` ↔ `shortcut.0` and `fc` ↔ `linear`.
// Convs use kaiming_normal_(fan_out, relu) as torchvision. Not handled: bottleneck pre-act blocks.

import { Module } from '../engine/nn/module.js';
import { BatchNorm2d, Conv2d, Linear, Sequential } from '../engine/nn/layers.js';
import * as F from '../engine/nn/functional.js';
import { tidy, type Tensor } from '../engine/tensor.js';
import type { Generator } from '../engine/random.js';
import { convFanOut } from './resnet.js';

/** BN-ReLU first; the shortcut projection (when shapes change) sees the pre-activated input. */
export class PreActBlock extends Module {
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly downsample: Sequential | null;
  constructor(inPlanes: number, planes: number, stride: number, generator?: Generator) {
    super();
    this.bn1 = this.module('bn1', new BatchNorm2d(inPlanes));
    this.conv1 = this.module('conv1', convFanOut(inPlanes, planes, 3, stride, 1, generator));
    this.bn2 = this.module('bn2', new BatchNorm2d(planes));
    this.conv2 = this.module('conv2', convFanOut(planes, planes, 3, 1, 1, generator));
    this.downsample = stride !== 1 || inPlanes !== planes
      ? this.module('downsample', new Sequential(convFanOut(inPlanes, planes, 1, stride, 0, generator)))
      : null;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const a = F.relu(this.bn1.forward(x));
      const sc = this.downsample ? this.downsample.forward(a) : x;
      const out = this.conv2.forward(F.relu(this.bn2.forward(this.conv1.forward(a))));
      return out.add(sc);
    });
  }
}

export interface PreActResNetOptions {
  numClasses?: number;
  inChannels?: number;
  /** Width of layer1 (64); stages use w, 2w, 4w, 8w. */
  width?: number;
  generator?: Generator;
}

export class PreActResNet extends Module {
  readonly conv1: Conv2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly bn: BatchNorm2d;
  readonly fc: Linear;

  constructor(readonly blocks: readonly [number, number, number, number], opts: PreActResNetOptions = {}) {
    super();
    if (blocks.length !== 4 || blocks.some((b) => !Number.isInteger(b) || b < 1)) {
      throw new Error(`PreActResNet: blocks must be four positive integers, got [${blocks.join(', ')}]`);
    }
    const g = opts.generator;
    const w = opts.width ?? 64;
    if (!Number.isInteger(w) || w < 1) throw new Error(`PreActResNet: width must be a positive integer, got ${w}`);
    this.conv1 = this.module('conv1', convFanOut(opts.inChannels ?? 3, w, 3, 1, 1, g));
    let inPlanes = w;
    const stage = (planes: number, n: number, stride: number) => {
      const bs: PreActBlock[] = [];
      for (let i = 0; i < n; i++) {
        bs.push(new PreActBlock(inPlanes, planes, i === 0 ? stride : 1, g));
        inPlanes = planes;
      }
      return new Sequential(...bs);
    };
    this.layer1 = this.module('layer1', stage(w, blocks[0], 1));
    this.layer2 = this.module('layer2', stage(2 * w, blocks[1], 2));
    this.layer3 = this.module('layer3', stage(4 * w, blocks[2], 2));
    this.layer4 = this.module('layer4', stage(8 * w, blocks[3], 2));
    this.bn = this.module('bn', new BatchNorm2d(8 * w));
    this.fc = this.module('fc', new Linear(8 * w, opts.numClasses ?? 10, { generator: g }));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = this.conv1.forward(x);
      for (const layer of [this.layer1, this.layer2, this.layer3, this.layer4]) h = layer.forward(h);
      h = F.relu(this.bn.forward(h));
      return this.fc.forward(F.flatten(F.globalAvgPool2d(h)));
    });
  }
}

export const preactResnet18 = (o?: PreActResNetOptions) => new PreActResNet([2, 2, 2, 2], o);
