// Recovering a run that went wrong: the settings a resume may change (and how a change is recorded),
// and the command that a divergence message advises, built from what the user typed so that it can
// be pasted as it is.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { InputError, UsageError, type Parsed } from './args.js';
import { listCheckpoints } from './checkpoint.js';
import { checkRunConfig, SchemaError } from './manifest_schema.js';

/** Settings a resume may change, by flag, with the RunConfig field each sets. */
export const RESUME_CHANGES = { lr: 'lr', schedule: 'schedule', warmup: 'warmup', 'max-loss-ratio': 'maxLossRatio', 'max-weight-norm': 'maxWeightNorm' } as const;

/** One explicit change of a resumed run, kept in config.changes (so in every later manifest). */
export interface RunChange {
  /** The step and epoch the resumed run continued from, and the checkpoint. */
  step: number;
  epoch: number;
  checkpoint: string;
  set: Record<string, { from: unknown; to: unknown }>;
}

/**
 * Applies the changes given beside --resume to `config` (a copy of the checkpoint's), appends them to
 * config.changes and returns them (null when nothing changed).
 */
export function applyResumeChanges(config: Record<string, unknown>, a: Parsed, at: { step: number; epoch: number; checkpoint: string }): RunChange | null {
  const set: RunChange['set'] = {};
  for (const [flag, field] of Object.entries(RESUME_CHANGES)) {
    if (!a.given.has(flag)) continue;
    const to = a.values[flag];
    if (config[field] !== to) set[field] = { from: config[field] ?? null, to };
    config[field] = to;
  }
  if (Number(config.warmup ?? 0) >= Number(config.epochs)) throw new UsageError(`--warmup ${String(config.warmup)} must be shorter than --epochs ${String(config.epochs)}`);
  if (Object.keys(set).length === 0) return null;
  const change: RunChange = { ...at, set };
  config.changes = [...((config.changes as RunChange[] | undefined) ?? []), change];
  return change;
}

/**
 * A run folder killed before its first checkpoint: its config.json (schema-checked) when `arg` is a
 * folder with one and no checkpoint, so that --resume starts the run afresh; null otherwise.
 */
export function restartOf(arg: string): { dir: string; config: Record<string, unknown> } | null {
  const dir = resolve(arg);
  const file = join(dir, 'config.json');
  if (!existsSync(dir) || !statSync(dir).isDirectory() || !existsSync(file)) return null;
  if (listCheckpoints(dir).length || listCheckpoints(join(dir, 'checkpoints')).length) return null;
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    checkRunConfig(config, '');
  } catch (e) {
    const why = e instanceof SchemaError ? e.message : `is not valid JSON (${(e as Error).message})`;
    throw new InputError(`--resume: ${shownPath(file)}: ${why}`);
  }
  for (const k of ['numClasses', 'imageShape', 'trainImages', 'testImages']) delete config[k];
  return { dir, config };
}

const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** A path as the user would type it from the current folder. */
export const shownPath = (p: string) => (relative(process.cwd(), p) || '.');

/**
 * The command that continues a diverged run with a tenth of its learning rate: a resume of the newest
 * sane checkpoint (with the options a resumed run was given beside --resume, such as its --epochs), or
 * (when there is none) the same command line again with the lower --lr.
 */
export function divergenceAdvice(a: Parsed, lr: number, sane: string | null): string {
  const lower = String(Number((lr / 10).toPrecision(3)));
  // A fresh run's settings are in the checkpoint; a resumed run's own options (--epochs …) go with the
  // advice, since its last sane checkpoint may predate them.
  if (sane && a.values.resume === undefined) return `pugd train --resume ${quote(shownPath(sane))} --lr ${lower}`;
  const words = sane ? ['pugd', 'train', '--resume', quote(shownPath(sane))] : ['pugd', 'train'];
  for (const name of a.given) {
    if (name === 'lr' || name === 'resume') continue;
    const v = a.values[name];
    words.push(`--${name}`);
    if (v !== true) words.push(quote(String(v)));
  }
  words.push('--lr', lower);
  return words.join(' ');
}
