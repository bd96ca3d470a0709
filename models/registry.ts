// The model names the CLI and `models.createModel` accept, and how each is built for a data set's
// image size, channels and classes. Kept apart from the model files so adding a model is one entry.
//
// Names: resnet20/32/44/56/110 (CIFAR ResNets, option-A shortcuts), resnet18/34 (torchvision layout;
// 3×3 stem for images up to 32 px, the ImageNet 7×7 stem + max-pool above, e.g. 64×64 Tiny
// ImageNet), preact-resnet18, wrn-D-K (Wide ResNet, depth D = 6n+4, widen factor K: wrn-28-10,
// wrn-16-4, …). `width` overrides the base width of the ResNets (16 for the CIFAR ResNets, 64 for
// ResNet-18/34 and PreAct-ResNet-18); WRN width is K in its name.

import type { Module } from '../engine/nn/module.js';
import type { Generator } from '../engine/random.js';
import { ResNetCifar } from './resnet_cifar.js';
import { ResNet } from './resnet.js';
import { PreActResNet } from './preact_resnet.js';
import { WideResNet } from './wide_resnet.js';

export interface CreateModelOptions {
  numClasses: number;
  inChannels: number;
  /** Input height = width in pixels (chooses the ResNet-18/34 stem). */
  imageSize: number;
  /** Base width override (ResNets only). */
  width?: number;
  generator?: Generator;
}

export interface ModelSpec {
  /** As typed on the command line. */
  name: string;
  /** One line for --help. */
  summary: string;
}

const fixed: Record<string, { summary: string; make: (o: CreateModelOptions) => Module }> = {};
for (const d of [20, 32, 44, 56, 110]) {
  fixed[`resnet${d}`] = {
    summary: `ResNet-${d} for CIFAR (He et al. 2016, option-A shortcuts, base width 16)`,
    make: (o) => new ResNetCifar(d, { numClasses: o.numClasses, inChannels: o.inChannels, width: o.width, generator: o.generator }),
  };
}
for (const [name, blocks] of [['resnet18', [2, 2, 2, 2]], ['resnet34', [3, 4, 6, 3]]] as const) {
  fixed[name] = {
    summary: `ResNet-${name.slice(6)} (torchvision layout; 3×3 stem up to 32 px, ImageNet stem above)`,
    make: (o) => new ResNet(blocks, { numClasses: o.numClasses, inChannels: o.inChannels, width: o.width, generator: o.generator, stem: o.imageSize <= 32 ? 'cifar' : 'imagenet' }),
  };
}
fixed['preact-resnet18'] = {
  summary: 'PreAct-ResNet-18 (He et al. 2016b, pre-activation blocks, 3×3 stem)',
  make: (o) => new PreActResNet([2, 2, 2, 2], { numClasses: o.numClasses, inChannels: o.inChannels, width: o.width, generator: o.generator }),
};

/** The names `createModel` accepts, for --help and error messages. */
export function modelNames(): string[] {
  return [...Object.keys(fixed), 'wrn-D-K'];
}

export function describeModels(): ModelSpec[] {
  return [
    ...Object.entries(fixed).map(([name, v]) => ({ name, summary: v.summary })),
    { name: 'wrn-D-K', summary: 'Wide ResNet, depth D = 6n+4, widen factor K (wrn-28-10, wrn-16-4, wrn-16-2)' },
  ];
}

/** Checks a model name without building anything; returns an error message or null. */
export function checkModelName(name: string): string | null {
  if (fixed[name]) return null;
  const m = /^wrn-(\d+)-(\d+)$/.exec(name);
  if (m) {
    const d = Number(m[1]);
    const k = Number(m[2]);
    if (d < 10 || (d - 4) % 6 !== 0) return `Wide ResNet depth must be 6n + 4 (10, 16, 22, 28, 40), got ${d} in '${name}'`;
    if (k < 1) return `Wide ResNet widen factor must be ≥ 1, got ${k} in '${name}'`;
    return null;
  }
  return `unknown model '${name}' (expected one of ${modelNames().join(', ')})`;
}

/**
 * Builds a model by CLI name for a data set's geometry.
 *
 * @example
 *   const net = createModel('resnet20', { numClasses: 10, inChannels: 3, imageSize: 32 });
 */
export function createModel(name: string, o: CreateModelOptions): Module {
  const err = checkModelName(name);
  if (err) throw new Error(`createModel: ${err}`);
  if (o.width !== undefined && (!Number.isInteger(o.width) || o.width < 1)) throw new Error(`createModel: width must be a positive integer, got ${o.width}`);
  if (fixed[name]) return fixed[name].make(o);
  const [, d, k] = /^wrn-(\d+)-(\d+)$/.exec(name)!;
  if (o.width !== undefined) throw new Error(`createModel: --width does not apply to '${name}' (its widen factor is in the name)`);
  return new WideResNet(Number(d), Number(k), { numClasses: o.numClasses, inChannels: o.inChannels, generator: o.generator });
}
