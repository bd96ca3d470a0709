// The standard layers as modules, with PyTorch's names, attribute names and default initialisation.
import { Module } from './module.js';
import type { Tensor } from '../tensor.js';
import { full } from '../ops/elementwise.js';
import * as F from './functional.js';
import { defaultWeight, uniform, fans } from './init.js';
import type { Generator } from '../random.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  /** Default true, as PyTorch. */
  bias?: boolean;
  generator?: Generator;
  /** Weight initialiser; PyTorch's default (U(±1/√fan_in)) when absent. */
  init?: (shape: number[]) => Tensor;
}

/** 2-D convolution, weight [out, in, kH, kW] (OIHW), optional bias [out]. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number | [number, number], readonly opts: Conv2dOptions = {}) {
    super();
    const [kh, kw] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    const shape = [outChannels, inChannels, kh, kw];
    this.weight = this.param('weight', opts.init ? opts.init(shape) : defaultWeight(shape, opts.generator));
    this.bias = opts.bias === false ? null : this.param('bias', uniform([outChannels], 1 / Math.sqrt(fans(shape).fanIn), opts.generator));
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.opts.stride ?? 1, padding: this.opts.padding ?? 0 });
  }
}

/** BatchNorm over channels: weight (γ) 1, bias (β) 0, running_mean 0, running_var 1. */
export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  /** Training-mode forward passes so far (PyTorch's num_batches_tracked; written to checkpoints). */
  numBatchesTracked = 0;
  constructor(readonly numFeatures: number, readonly opts: { eps?: number; momentum?: number } = {}) {
    super();
    this.weight = this.param('weight', full([numFeatures], 1));
    this.bias = this.param('bias', full([numFeatures], 0));
    this.runningMean = this.buffer('running_mean', full([numFeatures], 0));
    this.runningVar = this.buffer('running_var', full([numFeatures], 1));
  }
  forward(x: Tensor): Tensor {
    if (this.training) this.numBatchesTracked++;
    return F.batchNorm2d(x, this.weight, this.bias, this.runningMean, this.runningVar, {
      training: this.training, momentum: this.opts.momentum ?? 0.1, eps: this.opts.eps ?? 1e-5,
    });
  }
}

/** y = x·Wᵀ + b, weight [out, in]. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean; generator?: Generator; init?: (shape: number[]) => Tensor } = {}) {
    super();
    const shape = [outFeatures, inFeatures];
    this.weight = this.param('weight', opts.init ? opts.init(shape) : defaultWeight(shape, opts.generator));
    this.bias = opts.bias === false ? null : this.param('bias', uniform([outFeatures], 1 / Math.sqrt(inFeatures), opts.generator));
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

/**
 * Dropout (PyTorch's nn.Dropout): in training mode zeroes each element with probability p and scales
 * the rest by 1/(1 − p); identity in eval mode. Inside PUGD/SAM steps the second pass reuses the
 * first pass's mask by default (engine/step_context.ts).
 */
export class Dropout extends Module {
  constructor(readonly p = 0.5, readonly opts: { generator?: Generator } = {}) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new Error(`Dropout: p must be a probability in [0, 1), got ${String(p)}`);
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, { training: this.training, generator: this.opts.generator });
  }
}

export class MaxPool2d extends Module {
  constructor(readonly attrs: F.Pool2dAttrs) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.attrs);
  }
}

export class AvgPool2d extends Module {
  constructor(readonly attrs: F.Pool2dAttrs) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.attrs);
  }
}

/** AdaptiveAvgPool2d(1): [N,C,H,W] → [N,C,1,1]. */
export class GlobalAvgPool2d extends Module {
  forward(x: Tensor): Tensor {
    return F.globalAvgPool2d(x);
  }
}

export class Flatten extends Module {
  constructor(readonly startDim = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.flatten(x, this.startDim);
  }
}

/** Runs its children in order (named '0', '1', …). Intermediate outputs are released as it goes. */
export class Sequential extends Module {
  private readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.module(String(i), m));
  }
  get length(): number {
    return this.layers.length;
  }
  at(i: number): Module {
    return this.layers[i];
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) {
      const next = m.forward(y);
      if (y !== x) y.dispose();
      y = next;
    }
    return y === x ? x.detach() : y;
  }
}

/**
 * Softmax cross-entropy as a loss object (PyTorch's nn.CrossEntropyLoss for logits [N, C] and class
 * indices [N]): `forward(logits, labels)` is `functional.crossEntropy` with the options given here.
 * Labels are an i32 tensor or an array of class indices; one out of range is an error, not a NaN.
 *
 * @example
 *   const criterion = new nn.CrossEntropyLoss({ labelSmoothing: 0.1 });
 *   const loss = criterion.forward(model.forward(x), y);   // a one-element tensor
 */
export class CrossEntropyLoss {
  constructor(readonly opts: F.CrossEntropyAttrs = {}) {}

  forward(logits: Tensor, labels: Tensor | ArrayLike<number>): Tensor {
    return F.crossEntropy(logits, labels, this.opts);
  }
}
