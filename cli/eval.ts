// `pugd eval --checkpoint CKPT`: rebuilds the checkpoint's model, loads its weights (verified against
// the manifest's checksums) and reports loss and accuracy on the test split of its data set (or of
// --dataset/--data).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InputError, UsageError, type Parsed } from './args.js';
import { loadCheckpoint, readManifest } from './checkpoint.js';
import { locateDataset } from './data.js';
import { createModel } from '../models/registry.js';
import { Generator } from '../engine/random.js';
import { loadSafetensors } from '../engine/io/state.js';
import { evaluate } from './trainer.js';
import { Progress } from './progress.js';
import { selectBackend } from './backend.js';
import { openData, describeSkipped } from './components.js';
import type { RunConfig } from './train.js';
import type { DatasetName } from './commands.js';

/** A run's final weights (`model.safetensors` in its --out folder) with the settings beside them. */
interface FinalWeights {
  path: string;
  config: RunConfig & { testImages?: number };
  /** Epochs and steps trained, from the run's summary.json (null when it has none). */
  epochs: number | null;
  steps: number | null;
}

/**
 * When `arg` is a weights file with no checkpoint manifest beside it: the run's final weights, read
 * with the config.json of the run folder they are in (an InputError when there is none). Else null.
 */
function finalWeights(arg: string): FinalWeights | null {
  const p = resolve(arg);
  const m = /^(.*?)(\.optim)?\.safetensors$/.exec(p);
  if (!m || m[2] || !existsSync(p) || statSync(p).isDirectory() || existsSync(`${m[1]}.json`)) return null;
  const cfg = join(dirname(p), 'config.json');
  if (!existsSync(cfg)) {
    throw new InputError(`--checkpoint ${arg}: a weights file with no checkpoint manifest beside it and no config.json of a run in its folder, so the model it belongs to is unknown (give a run folder, a step-*.json or a run's model.safetensors)`);
  }
  let config: FinalWeights['config'];
  try {
    config = JSON.parse(readFileSync(cfg, 'utf8'));
  } catch (e) {
    throw new InputError(`--checkpoint ${arg}: ${cfg} is not valid JSON (${(e as Error).message})`);
  }
  if (!config || typeof config.model !== 'string' || typeof config.dataset !== 'string') throw new InputError(`--checkpoint ${arg}: ${cfg} is not a pugd run's config.json (no model or dataset)`);
  let epochs: number | null = null;
  let steps: number | null = null;
  try {
    const sum = JSON.parse(readFileSync(join(dirname(p), 'summary.json'), 'utf8'));
    if (Number.isInteger(sum.epochs)) epochs = sum.epochs;
    if (Number.isInteger(sum.steps)) steps = sum.steps;
  } catch {
    // No summary (the weights were copied, or the run is older): the figures say "final weights".
  }
  return { path: p, config, epochs, steps };
}

/** The settings of the run a --checkpoint / --resume argument belongs to (its manifest's, or config.json for final weights). */
export function trainedConfig(arg: string): Partial<RunConfig> {
  return finalWeights(arg)?.config ?? (readManifest(arg).manifest.config as Partial<RunConfig>);
}

export async function runEval(a: Parsed): Promise<number> {
  const json = Boolean(a.values.json);
  const say = json ? null : (l: string) => process.stderr.write(`${l}\n`);
  if (a.values.checkpoint === undefined) throw new UsageError('pugd eval needs --checkpoint CKPT (a step-*.json, its .safetensors, a run folder or its model.safetensors)');
  const arg = String(a.values.checkpoint);
  // The manifest first (a wrong path is a usage error before any device starts), then the backend
  // (the run's own unless --backend is given), then the tensors, which are created on it.
  // The weights and where they came from (a checkpoint's manifest, or a run's final weights file).
  let ck: { modelBytes: Uint8Array; manifestPath: string; manifest: { epoch: number | null; step: number | null } };
  let trained: RunConfig & { testImages?: number };
  let backend: Awaited<ReturnType<typeof selectBackend>>;
  const final = finalWeights(arg);
  try {
    trained = (final?.config ?? readManifest(arg).manifest.config) as typeof trained;
    backend = await selectBackend(a.given.has('backend') ? (a.values.backend as 'auto') : (trained.backend ?? 'auto'), say);
    if (final) {
      ck = { modelBytes: new Uint8Array(readFileSync(final.path)), manifestPath: final.path, manifest: { epoch: final.epochs, step: final.steps } };
    } else {
      ck = loadCheckpoint(arg);
    }
  } catch (e) {
    if ((e as Error).message.startsWith('--backend')) throw e;
    throw new InputError(`--checkpoint: ${(e as Error).message}`);
  }
  const dataset = (a.values.dataset as DatasetName | undefined) ?? trained.dataset;
  let data: string;
  if (a.given.has('data')) data = locateDataset(dataset, String(a.values.data)).path;
  else {
    try {
      data = locateDataset(dataset, dataset === trained.dataset ? trained.data : undefined).path;
    } catch {
      data = locateDataset(dataset, undefined).path;
    }
  }
  // The run's test subset unless told otherwise (--limit-test N, --all-test, or another data set).
  if (a.given.has('all-test') && a.given.has('limit-test')) throw new UsageError('--all-test and --limit-test exclude each other');
  const limitTest = a.given.has('limit-test') ? Number(a.values['limit-test']) : a.values['all-test'] || dataset !== trained.dataset ? undefined : trained.limitTest;
  const skipBadImages = Boolean(a.values['skip-bad-images']) || trained.skipBadImages;
  const config: RunConfig = { ...trained, dataset, data, limitTest, limitTrain: 1, batchSize: Number(a.values['batch-size']), skipBadImages };
  const d = await openData(config, backend, { testOnly: true });
  for (const line of describeSkipped(d.skipped)) say?.(line);
  if (!d.test) throw new InputError(`${dataset} at ${data} has no test split`);
  const model = createModel(trained.model, { numClasses: d.numClasses, inChannels: d.imageShape[0], imageSize: d.imageShape[1], width: trained.width, generator: new Generator(0) });
  try {
    const images = d.test.numExamples;
    const differs = testSetDifference(trained, { dataset, data, images });
    if (differs) say?.(`pugd eval: note: this test set differs from the one the run measured (${differs}), so the figures are not comparable with its metrics.jsonl`);
    else if (limitTest !== undefined && !a.given.has('limit-test')) say?.(`pugd eval: testing on the first ${images} test images, as the run did (its --limit-test; --all-test for the whole split)`);
    loadSafetensors(model, ck.modelBytes, { source: `checkpoint ${ck.manifestPath}` });
    const progress = json ? undefined : new Progress({ out: process.stderr, tty: Boolean(process.stderr.isTTY), columns: process.stderr.columns ?? 100 });
    const r = await evaluate(model, d.test, progress);
    const res = {
      checkpoint: ck.manifestPath, model: trained.model, dataset, data, epoch: ck.manifest.epoch, step: ck.manifest.step, images: r.images, test_loss: r.loss, test_acc: r.acc,
      images_per_s: r.images / Math.max(r.time, 1e-9), backend: backend.name, same_test_set: !differs, run_test_images: trained.testImages ?? null,
      skipped_images: d.skipped.map((x) => x.name),
    };
    if (json) process.stdout.write(`${JSON.stringify(res)}\n`);
    else {
      const what = final ? `final weights${ck.manifest.epoch !== null ? ` (epoch ${ck.manifest.epoch}, step ${ck.manifest.step})` : ''}` : `after epoch ${ck.manifest.epoch} (step ${ck.manifest.step})`;
      process.stdout.write(`${trained.model} ${what} on ${dataset} test (${r.images} images): loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.acc).toFixed(2)}% · ${res.images_per_s.toFixed(1)} img/s · ${backend.description}\n`);
    }
    return 0;
  } finally {
    await d.close();
    model.dispose();
  }
}

/** How the test set about to be evaluated differs from the run's own, or null when it is the same. */
function testSetDifference(run: RunConfig & { testImages?: number }, now: { dataset: string; data: string; images: number }): string | null {
  const d: string[] = [];
  if (now.dataset !== run.dataset) d.push(`${now.dataset}, the run tested on ${run.dataset}`);
  else if (resolve(now.data) !== resolve(run.data)) d.push(`read from ${now.data}, the run read ${run.data}`);
  if (run.testImages !== undefined && now.images !== run.testImages) d.push(`${now.images} images, the run tested on ${run.testImages}`);
  return d.length ? d.join('; ') : null;
}
