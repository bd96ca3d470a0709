// ResNet-20/32/44/56/110 for CIFAR (He et al. 2016, "Deep Residual Learning", §4.2): a 3×3 conv with
// 16 filters, then three stages of n basic blocks with 16, 32 and 64 filters (depth = 6n + 2), the
// first block of stages 2 and 3 with stride 2, global average pooling and a linear classifier.
// Shortcuts are the paper's option A: identity, with a stride-2 subsample and zero-padded channels
// when the shape changes, so the model has no projection weights (ResNet-20: 0.27 M parameters).
//
// Parameter names follow the most used PyTorch implementation of these models (akamaster's
// pytorch_resnet_cifar10: conv1, bn1, layer{1,2,3}.{i}.{conv1,bn1,conv2,bn2}, linear), so weights
// move to and from PyTorch. Initialisation as there: kaiming_normal_ (fan_in, gain √2) for conv and
// linear weights.

import { Module } from '../engine/nn/module.js';
import { BatchNorm2d, Conv2d, Linear, Sequential } from '../engine/nn/layers.js';
import * as F from '../engine/nn/functional.js';
import { kaimingNormal } from '../engine/nn/init.js';
import type { Tensor } from '../engine/tensor.js';
import type { Generator } from '../engine/random.js';

function conv3x3(inC: number, outC: number, stride: number, generator?: Generator): Conv2d {
  return new Conv2d(inC, outC, 3, { stride, padding: 1, bias: false, generator, init: (s) => kaimingNormal(s, { generator }) });
}

/** Two 3×3 convs with BN and ReLU, plus the option-A shortcut. */
export class BasicBlockA extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  constructor(readonly inPlanes: number, readonly planes: number, readonly stride: number, generator?: Generator) {
    super();
    this.conv1 = this.module('conv1', conv3x3(inPlanes, planes, stride, generator));
    this.bn1 = this.module('bn1', new BatchNorm2d(planes));
    this.conv2 = this.module('conv2', conv3x3(planes, planes, 1, generator));
    this.bn2 = this.module('bn2', new BatchNorm2d(planes));
  }

  forward(x: Tensor): Tensor {
    const a = this.conv1.forward(x);
    const b = this.bn1.forward(a);
    a.dispose();
    const c = F.relu(b);
    b.dispose();
    const d = this.conv2.forward(c);
    c.dispose();
    const e = this.bn2.forward(d);
    d.dispose();
    const sc = this.shortcut(x);
    const s = e.add(sc);
    e.dispose();
    if (sc !== x) sc.dispose();
    const y = F.relu(s);
    s.dispose();
    return y;
  }

  private shortcut(x: Tensor): Tensor {
    if (this.stride === 1 && this.inPlanes === this.planes) return x;
    // x[:, :, ::stride, ::stride] padded with zero channels on both sides.
    const sub = this.stride === 1 ? x : F.avgPool2d(x, { kernel: 1, stride: this.stride });
    const extra = this.planes - this.inPlanes;
    const y = F.padChannels(sub, Math.floor(extra / 2), extra - Math.floor(extra / 2));
    if (sub !== x) sub.dispose();
    return y;
  }
}

export interface ResNetCifarOptions {
  /** Output classes (10 for CIFAR-10). */
  numClasses?: number;
  /** Input channels (3 for CIFAR, 1 for MNIST). */
  inChannels?: number;
  /** Width of the first stage (16 in the paper); stages use w, 2w, 4w. */
  width?: number;
  generator?: Generator;
}

export class ResNetCifar extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly linear: Linear;

  constructor(readonly depth: number, opts: ResNetCifarOptions = {}) {
    super();
    if (!Number.isInteger(depth) || (depth - 2) % 6 !== 0 || depth < 8) {
      throw new Error(`ResNetCifar: depth must be 6n + 2 (20, 32, 44, 56, 110), got ${depth}`);
    }
    const n = (depth - 2) / 6;
    const w = opts.width ?? 16;
    const g = opts.generator;
    this.conv1 = this.module('conv1', conv3x3(opts.inChannels ?? 3, w, 1, g));
    this.bn1 = this.module('bn1', new BatchNorm2d(w));
    const stage = (inC: number, outC: number, stride: number) =>
      new Sequential(...Array.from({ length: n }, (_, i) => new BasicBlockA(i === 0 ? inC : outC, outC, i === 0 ? stride : 1, g)));
    this.layer1 = this.module('layer1', stage(w, w, 1));
    this.layer2 = this.module('layer2', stage(w, 2 * w, 2));
    this.layer3 = this.module('layer3', stage(2 * w, 4 * w, 2));
    this.linear = this.module('linear', new Linear(4 * w, opts.numClasses ?? 10, { generator: g, init: (s) => kaimingNormal(s, { generator: g }) }));
  }

  forward(x: Tensor): Tensor {
    const a = this.conv1.forward(x);
    const b = this.bn1.forward(a);
    a.dispose();
    let h = F.relu(b);
    b.dispose();
    for (const layer of [this.layer1, this.layer2, this.layer3]) {
      const next = layer.forward(h);
      h.dispose();
      h = next;
    }
    const p = F.globalAvgPool2d(h);
    h.dispose();
    const f = F.flatten(p);
    p.dispose();
    const y = this.linear.forward(f);
    f.dispose();
    return y;
  }
}

export const resnet20 = (o?: ResNetCifarOptions) => new ResNetCifar(20, o);
export const resnet32 = (o?: ResNetCifarOptions) => new ResNetCifar(32, o);
export const resnet44 = (o?: ResNetCifarOptions) => new ResNetCifar(44, o);
export const resnet56 = (o?: ResNetCifarOptions) => new ResNetCifar(56, o);
export const resnet110 = (o?: ResNetCifarOptions) => new ResNetCifar(110, o);
