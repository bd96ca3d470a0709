// `pugd eval --checkpoint CKPT`: rebuilds the checkpoint's model, loads its weights (verified against
// the manifest's checksums) and reports loss and accuracy on the test split of its data set (or of
// --dataset/--data).

import { InputError, UsageError, type Parsed } from './args.js';
import { loadCheckpoint, readManifest } from './checkpoint.js';
import { locateDataset } from './data.js';
import { createModel } from '../models/registry.js';
import { Generator } from '../engine/random.js';
import { loadSafetensors } from '../engine/io/state.js';
import { evaluate } from './trainer.js';
import { Progress } from './progress.js';
import { selectBackend } from './backend.js';
import { openData } from './components.js';
import type { RunConfig } from './train.js';
import type { DatasetName } from './commands.js';

export async function runEval(a: Parsed): Promise<number> {
  const json = Boolean(a.values.json);
  if (a.values.checkpoint === undefined) throw new UsageError('pugd eval needs --checkpoint CKPT (a step-*.json, its .safetensors, or a run folder)');
  // The manifest first (a wrong path is a usage error before any device starts), then the backend
  // (the run's own unless --backend is given), then the tensors, which are created on it.
  let ck: ReturnType<typeof loadCheckpoint>;
  let backend: Awaited<ReturnType<typeof selectBackend>>;
  try {
    const { manifest } = readManifest(String(a.values.checkpoint));
    const own = (manifest.config as { backend?: 'wasm' | 'webgpu' }).backend;
    backend = await selectBackend(a.given.has('backend') ? (a.values.backend as 'auto') : (own ?? 'auto'), json ? null : (l) => process.stderr.write(`${l}\n`));
    ck = loadCheckpoint(String(a.values.checkpoint));
  } catch (e) {
    if ((e as Error).message.startsWith('--backend')) throw e;
    throw new InputError(`--checkpoint: ${(e as Error).message}`);
  }
  const trained = ck.manifest.config as unknown as RunConfig;
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
  const config: RunConfig = { ...trained, dataset, data, limitTest: a.values['limit-test'] as number | undefined, limitTrain: 1, batchSize: Number(a.values['batch-size']) };
  const d = await openData(config, backend, { testOnly: true });
  if (!d.test) throw new InputError(`${dataset} at ${data} has no test split`);
  const model = createModel(trained.model, { numClasses: d.numClasses, inChannels: d.imageShape[0], imageSize: d.imageShape[1], width: trained.width, generator: new Generator(0) });
  try {
    loadSafetensors(model, ck.modelBytes, { source: `checkpoint ${ck.manifestPath}` });
    const progress = json ? undefined : new Progress({ out: process.stderr, tty: Boolean(process.stderr.isTTY), columns: process.stderr.columns ?? 100 });
    const r = await evaluate(model, d.test, progress);
    const res = { checkpoint: ck.manifestPath, model: trained.model, dataset, data, epoch: ck.manifest.epoch, step: ck.manifest.step, images: r.images, test_loss: r.loss, test_acc: r.acc, images_per_s: r.images / Math.max(r.time, 1e-9), backend: backend.name };
    if (json) process.stdout.write(`${JSON.stringify(res)}\n`);
    else process.stdout.write(`${trained.model} after epoch ${ck.manifest.epoch} (step ${ck.manifest.step}) on ${dataset} test (${r.images} images): loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.acc).toFixed(2)}% · ${res.images_per_s.toFixed(1)} img/s · ${backend.description}\n`);
    return 0;
  } finally {
    await d.close();
    model.dispose();
  }
}
