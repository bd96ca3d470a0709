// Where the real datasets are (README of ../shared/datasets): $PUGD_DATA, else ../shared/datasets
// beside the project root. Suites that need them fail with a message saying where they looked, unless
// the user opted out with PUGD_SKIP_DATA=1 (then they are skipped, and the reason printed).
import { existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface DataDir {
  dir: string | null;
  skip: boolean;
  reason: string;
}

export function dataDir(): DataDir {
  const candidates = [process.env.PUGD_DATA, join(projectRoot, '../shared/datasets')].filter((x): x is string => !!x);
  for (const c of candidates) if (existsSync(join(c, 'mnist'))) return { dir: c, skip: false, reason: '' };
  const reason = `real datasets not found: looked in ${candidates.map((c) => `'${c}'`).join(' and ')} (set PUGD_DATA to the folder holding mnist/, fashion-mnist/, cifar-10-exact-subset/, cifar-10-jpeg/)`;
  if (process.env.PUGD_SKIP_DATA === '1') {
    console.warn(`SKIPPED real-data suites: ${reason}; PUGD_SKIP_DATA=1 opted out`);
    return { dir: null, skip: true, reason };
  }
  return { dir: null, skip: false, reason: `${reason}; set PUGD_SKIP_DATA=1 to skip these suites explicitly` };
}

/** The data folder, or throws the reason (used inside tests so the failure names where we looked). */
export function requireData(d: DataDir): string {
  if (!d.dir) throw new Error(d.reason);
  return d.dir;
}
