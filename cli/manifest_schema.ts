// The schema of a checkpoint manifest (cli/checkpoint.ts) and of a run's config.json: every field a
// resume or an eval uses, with its type, range and the relations between fields (the step count
// agrees with the epochs done and the position in the epoch, the metrics so far are one per epoch
// done). A manifest that breaks any of it is refused with the file and the field named, before any
// of it reaches the optimizer, the loader or the metrics. Manifests also carry their own sha256
// (checkpoint.ts), so a hand edit is caught even where it would pass these checks.

import { DATASETS, OPTIMIZERS, SCHEDULES } from './commands.js';

/** A field that breaks the schema: `field` is its path in the JSON (config.lr, extra.history[2].step). */
export class SchemaError extends Error {
  constructor(readonly field: string, problem: string) {
    super(`field '${field}' ${problem}`);
    this.name = 'SchemaError';
  }
}

type Obj = Record<string, unknown>;
const show = (v: unknown) => {
  const s = JSON.stringify(v);
  return s === undefined ? 'nothing' : s.length > 60 ? `${s.slice(0, 57)}...` : s;
};
const fail = (field: string, want: string, got: unknown): never => {
  throw new SchemaError(field, `must be ${want}, got ${show(got)}`);
};

function obj(v: unknown, field: string): Obj {
  if (!v || typeof v !== 'object' || Array.isArray(v)) fail(field, 'an object', v);
  return v as Obj;
}
function int(v: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(field, `a whole number${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : ` ≥ ${min}`}`, v);
  return v as number;
}
function num(v: unknown, field: string, ok: (x: number) => boolean, want: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) fail(field, want, v);
  return v as number;
}
function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') fail(field, 'a non-empty string', v);
  return v as string;
}
function oneOf(v: unknown, field: string, choices: readonly string[]): void {
  if (typeof v !== 'string' || !choices.includes(v)) fail(field, `one of ${choices.join(', ')}`, v);
}
function bool(v: unknown, field: string): void {
  if (typeof v !== 'boolean') fail(field, 'true or false', v);
}
const optional = (o: Obj, k: string, check: (v: unknown, field: string) => void, prefix: string) => {
  if (o[k] !== undefined && o[k] !== null) check(o[k], `${prefix}${k}`);
};

/** A run's settings (config.json, or a manifest's `config`); `prefix` names where it sits. */
export function checkRunConfig(v: unknown, prefix = 'config.'): void {
  const c = obj(v, prefix.replace(/\.$/, '') || 'config');
  str(c.model, `${prefix}model`);
  optional(c, 'width', (x, f) => int(x, f, 1), prefix);
  oneOf(c.dataset, `${prefix}dataset`, DATASETS);
  str(c.data, `${prefix}data`);
  oneOf(c.optimizer, `${prefix}optimizer`, OPTIMIZERS);
  num(c.lr, `${prefix}lr`, (x) => x > 0, 'a number > 0');
  num(c.momentum, `${prefix}momentum`, (x) => x >= 0 && x < 1, 'a number in [0, 1)');
  num(c.weightDecay, `${prefix}weightDecay`, (x) => x >= 0, 'a number ≥ 0');
  num(c.labelSmoothing, `${prefix}labelSmoothing`, (x) => x >= 0 && x < 1, 'a number in [0, 1)');
  const epochs = int(c.epochs, `${prefix}epochs`, 1);
  int(c.batchSize, `${prefix}batchSize`, 1, 65536);
  oneOf(c.schedule, `${prefix}schedule`, SCHEDULES);
  const warmup = int(c.warmup, `${prefix}warmup`, 0);
  if (warmup >= epochs) fail(`${prefix}warmup`, `shorter than ${prefix}epochs (${epochs})`, warmup);
  int(c.seed, `${prefix}seed`, 0, 4294967295);
  bool(c.augment, `${prefix}augment`);
  optional(c, 'limitTrain', (x, f) => int(x, f, 1), prefix);
  optional(c, 'limitTest', (x, f) => int(x, f, 1), prefix);
  bool(c.demo, `${prefix}demo`);
  optional(c, 'backend', (x, f) => oneOf(x, f, ['wasm', 'webgpu']), prefix);
  optional(c, 'logSteps', bool, prefix);
  optional(c, 'checkpointEvery', (x, f) => int(x, f, 0), prefix);
  optional(c, 'maxLossRatio', (x, f) => num(x, f, (y) => y >= 0, 'a number ≥ 0'), prefix);
  optional(c, 'maxWeightNorm', (x, f) => num(x, f, (y) => y >= 0, 'a number ≥ 0'), prefix);
  optional(c, 'changes', (x, f) => { if (!Array.isArray(x)) fail(f, 'a list', x); }, prefix);
  optional(c, 'numClasses', (x, f) => int(x, f, 1), prefix);
  optional(c, 'trainImages', (x, f) => int(x, f, 1), prefix);
  optional(c, 'testImages', (x, f) => int(x, f, 0), prefix);
  optional(c, 'imageShape', (x, f) => {
    if (!Array.isArray(x) || x.length !== 3) fail(f, 'a list of 3 whole numbers', x);
    (x as unknown[]).forEach((d, i) => int(d, `${f}[${i}]`, 1));
  }, prefix);
}

function fileRecord(v: unknown, field: string, stem: string, suffix: string): void {
  const r = obj(v, field);
  if (r.path !== `${stem}${suffix}`) fail(`${field}.path`, `'${stem}${suffix}' (the manifest's own stem)`, r.path);
  int(r.bytes, `${field}.bytes`, 1);
  if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) fail(`${field}.sha256`, '64 hex digits', r.sha256);
}

const EPOCH_FIELDS = ['lr', 'train_loss', 'train_acc', 'train_images', 'train_time_s', 'images_per_s', 'epoch_time_s', 'elapsed_s'];

/**
 * Checks a parsed manifest whose format and version are already known; `stem` is its file name
 * without `.json` (step-000150). Throws SchemaError naming the first bad field.
 */
export function checkManifest(m: Obj, stem: string): void {
  str(m.created, 'created');
  const epoch = int(m.epoch, 'epoch');
  const step = int(m.step, 'step');
  const batchInEpoch = int(m.batchInEpoch, 'batchInEpoch');
  if (stem !== `step-${String(step).padStart(6, '0')}`) fail('step', `${Number(stem.slice(5))} (the file is ${stem}.json)`, step);
  checkRunConfig(m.config);
  const config = m.config as Obj;
  if (epoch >= (config.epochs as number) && batchInEpoch > 0) fail('batchInEpoch', `0 once all ${String(config.epochs)} epochs are done`, batchInEpoch);
  if (config.trainImages !== undefined) {
    const perEpoch = Math.ceil((config.trainImages as number) / (config.batchSize as number));
    if (batchInEpoch >= perEpoch) fail('batchInEpoch', `below the ${perEpoch} batches of an epoch`, batchInEpoch);
  }
  const files = obj(m.files, 'files');
  fileRecord(files.model, 'files.model', stem, '.safetensors');
  optional(files, 'optimizer', (v, f) => fileRecord(v, f, stem, '.optim.safetensors'), 'files.');
  obj(m.optimizer, 'optimizer');
  const rng = obj(m.rng, 'rng');
  if (!Array.isArray(rng.global) || rng.global.length !== 5) fail('rng.global', 'a list of 5 numbers', rng.global);
  (rng.global as unknown[]).slice(0, 4).forEach((x, i) => int(x, `rng.global[${i}]`, 0, 4294967295));
  const spare = (rng.global as unknown[])[4];
  if (spare !== null) num(spare, 'rng.global[4]', () => true, 'a number or null');
  const loader = obj(m.loader, 'loader');
  int(loader.seed, 'loader.seed', 0, 4294967295);
  int(loader.epoch, 'loader.epoch');
  int(loader.batch, 'loader.batch');

  const extra = obj(m.extra, 'extra');
  const history = extra.history;
  if (!Array.isArray(history)) fail('extra.history', 'a list of the epochs done', history);
  const h = history as unknown[];
  if (h.length !== epoch) fail('extra.history', `a list of ${epoch} epoch records (one per epoch done)`, `${h.length} records`);
  let prevStep = 0;
  h.forEach((r, i) => {
    const f = `extra.history[${i}]`;
    const rec = obj(r, f);
    if (rec.epoch !== i + 1) fail(`${f}.epoch`, `${i + 1}`, rec.epoch);
    prevStep = int(rec.step, `${f}.step`, prevStep + 1);
    for (const k of EPOCH_FIELDS) num(rec[k], `${f}.${k}`, () => true, 'a finite number');
  });
  if (step !== prevStep + batchInEpoch) fail('step', `${prevStep + batchInEpoch} (the steps of the epochs done plus batchInEpoch)`, step);
  if (batchInEpoch > 0) {
    const p = obj(extra.partial, 'extra.partial');
    for (const k of ['loss', 'correct', 'images', 'time']) num(p[k], `extra.partial.${k}`, (x) => x >= 0, 'a number ≥ 0');
  }
  if (extra.lossLevel !== undefined && extra.lossLevel !== null) num(extra.lossLevel, 'extra.lossLevel', (x) => x >= 0, 'a number ≥ 0 or null');
}
