// Wide Residual Networks (Zagoruyko & Komodakis 2016): WRN-d-k for 32×32 inputs, d = 6n + 4, widen
// factor k. A 3×3 stem conv with 16 filters, three groups of n pre-activation blocks with 16k, 32k
// and 64k filters (stride 1, 2, 2), a final BN-ReLU, global average pooling and a linear classifier.
// WRN-28-10 has 36.5 M parameters; small variants (WRN-16-2, WRN-16-4, WRN-28-2) come from the same
// class.
//
// Names and structure follow xternalz/WideResNet-pytorch (the implementation most SAM-family code
// copies): conv1, block{1,2,3}.layer.{i}.{bn1,conv1,bn2,conv2,convShortcut}, bn1, fc. A block whose
// shape changes applies BN-ReLU to its input and feeds that to both the convs and the 1×1
// convShortcut; otherwise the shortcut is the raw input. Init as there: convs N(0, 2/(k²·out)), BN
// γ=1 β=0, fc bias 0. Not handled: dropout between the convs (the reference defaults to 0).

import { Module } from '../engine/nn/module.js';
import { BatchNorm2d, Conv2d, Linear, Sequential } from '../engine/nn/layers.js';
import * as F from '../engine/nn/functional.js';
import { tidy, type Tensor } from '../engine/tensor.js';
import { full } from '../engine/ops/elementwise.js';
import type { Generator } from '../engine/random.js';
import { convFanOut } from './resnet.js';

export class WideBasicBlock extends Module {
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly convShortcut: Conv2d | null;
  constructor(inPlanes: number, outPlanes: number, stride: number, generator?: Generator) {
    super();
    this.bn1 = this.module('bn1', new BatchNorm2d(inPlanes));
    this.conv1 = this.module('conv1', convFanOut(inPlanes, outPlanes, 3, stride, 1, generator));
    this.bn2 = this.module('bn2', new BatchNorm2d(outPlanes));
    this.conv2 = this.module('conv2', convFanOut(outPlanes, outPlanes, 3, 1, 1, generator));
    // As the reference: a projection whenever the channel count changes (stride alone never does here).
    this.convShortcut = inPlanes !== outPlanes ? this.module('convShortcut', convFanOut(inPlanes, outPlanes, 1, stride, 0, generator)) : null;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const a = F.relu(this.bn1.forward(x));
      const out = this.conv2.forward(F.relu(this.bn2.forward(this.conv1.forward(a))));
      return out.add(this.convShortcut ? this.convShortcut.forward(a) : x);
    });
  }
}

/** xternalz's NetworkBlock: a Sequential held under `.layer`. */
export class NetworkBlock extends Module {
  readonly layer: Sequential;
  constructor(n: number, inPlanes: number, outPlanes: number, stride: number, generator?: Generator) {
    super();
    this.layer = this.module('layer', new Sequential(...Array.from({ length: n }, (_, i) => new WideBasicBlock(i === 0 ? inPlanes : outPlanes, outPlanes, i === 0 ? stride : 1, generator))));
  }
  forward(x: Tensor): Tensor {
    return this.layer.forward(x);
  }
}

export interface WideResNetOptions {
  numClasses?: number;
  inChannels?: number;
  generator?: Generator;
}

export class WideResNet extends Module {
  readonly conv1: Conv2d;
  readonly block1: NetworkBlock;
  readonly block2: NetworkBlock;
  readonly block3: NetworkBlock;
  readonly bn1: BatchNorm2d;
  readonly fc: Linear;

  /** WRN-`depth`-`widen`: depth 6n + 4 (16, 22, 28, 40), widen factor k ≥ 1 (10 for WRN-28-10). */
  constructor(readonly depth: number, readonly widen: number, opts: WideResNetOptions = {}) {
    super();
    if (!Number.isInteger(depth) || depth < 10 || (depth - 4) % 6 !== 0) {
      throw new Error(`WideResNet: depth must be 6n + 4 (10, 16, 22, 28, 40), got ${depth}`);
    }
    if (!Number.isInteger(widen) || widen < 1) throw new Error(`WideResNet: widen factor must be a positive integer, got ${widen}`);
    const n = (depth - 4) / 6;
    const g = opts.generator;
    const ch = [16, 16 * widen, 32 * widen, 64 * widen];
    this.conv1 = this.module('conv1', convFanOut(opts.inChannels ?? 3, ch[0], 3, 1, 1, g));
    this.block1 = this.module('block1', new NetworkBlock(n, ch[0], ch[1], 1, g));
    this.block2 = this.module('block2', new NetworkBlock(n, ch[1], ch[2], 2, g));
    this.block3 = this.module('block3', new NetworkBlock(n, ch[2], ch[3], 2, g));
    this.bn1 = this.module('bn1', new BatchNorm2d(ch[3]));
    this.fc = this.module('fc', new Linear(ch[3], opts.numClasses ?? 10, { generator: g }));
    // The reference zeroes the classifier bias.
    const zero = full([this.fc.outFeatures], 0);
    this.fc.bias!.assign(zero);
    zero.dispose();
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = this.conv1.forward(x);
      for (const b of [this.block1, this.block2, this.block3]) h = b.forward(h);
      h = F.relu(this.bn1.forward(h));
      return this.fc.forward(F.flatten(F.globalAvgPool2d(h)));
    });
  }
}

/** WRN-28-10 (36.5 M parameters). */
export const wideResnet28x10 = (o?: WideResNetOptions) => new WideResNet(28, 10, o);
