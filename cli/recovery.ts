// Recovering a run that went wrong: the settings a resume may change (and how a change is recorded),
// and the command that a divergence message advises, built from what the user typed so that it can
// be pasted as it is.

import { relative } from 'node:path';
import { UsageError, type Parsed } from './args.js';

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

const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** A path as the user would type it from the current folder. */
export const shownPath = (p: string) => (relative(process.cwd(), p) || '.');

/**
 * The command that continues a diverged run with a tenth of its learning rate: a resume of the newest
 * sane checkpoint, or (when there is none) the same command line again with the lower --lr.
 */
export function divergenceAdvice(a: Parsed, lr: number, sane: string | null): string {
  const lower = String(Number((lr / 10).toPrecision(3)));
  if (sane) return `pugd train --resume ${quote(shownPath(sane))} --lr ${lower}`;
  const words = ['pugd', 'train'];
  for (const name of a.given) {
    if (name === 'lr' || name === 'resume') continue;
    const v = a.values[name];
    words.push(`--${name}`);
    if (v !== true) words.push(quote(String(v)));
  }
  words.push('--lr', lower);
  return words.join(' ');
}
