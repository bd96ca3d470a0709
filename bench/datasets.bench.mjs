// Dataset benchmarks (JSON lines on stdout; no assertions — targets live in the issue and README):
//   1. gunzip + tar index of the CIFAR-10 JPEG archive (WASM inflate; Node's zlib for comparison)
//   2. decoding all 50,000 CIFAR-10 training JPEGs: pugd (WASM) vs the npm `jpeg-js` decoder, same run
//   3. the DataLoader with CIFAR augmentation (pad 4 + crop, flip, normalise) at 0, 1 and 2 workers
//   4. a ResNet-20 training step (batch 32, WASM backend, plain SGD) — what the loader must outrun
//   5. both together: training fed by the loader (1 worker), time spent waiting for data
// Usage: npm run bench:datasets (builds first) [-- --quick]. Needs ../shared/datasets or PUGD_DATA.
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execSync } from 'node:child_process';
import os from 'node:os';
import zlib from 'node:zlib';
import jpegjs from 'jpeg-js';
import { datasets, setBackend, models, nn, tidy, noGrad, Generator, setBackendLogger } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const dataRoot = process.env.PUGD_DATA ?? join(root, '../shared/datasets');
const tgz = join(dataRoot, 'cifar-10-jpeg/cifar-10-jpeg-q75.tar.gz');
if (!existsSync(tgz)) {
  console.error(`bench/datasets: ${tgz} not found (set PUGD_DATA)`);
  process.exit(1);
}
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim();
} catch {}
const meta = { commit, node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model };
const emit = (o) => console.log(JSON.stringify({ ...o, ...meta }));
const now = () => performance.now();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// 1. archive
const gz = readFileSync(tgz);
let t = now();
const files = datasets.readTar(gz, { name: tgz });
const tarMs = now() - t;
t = now();
zlib.gunzipSync(gz);
const zlibMs = now() - t;
emit({ bench: 'cifar10-jpeg archive: gunzip + tar (WASM)', ms: +tarMs.toFixed(1), mb_per_s: +(92.69 / (tarMs / 1000)).toFixed(1), zlib_gunzip_only_ms: +zlibMs.toFixed(1), entries: files.size });

// 2. JPEG decode, both decoders on the same in-memory files
const train = [...files.keys()].filter((k) => k.startsWith('train/')).sort().map((k) => files.get(k));
const n = quick ? 5000 : train.length;
// Validate once: both decoders agree closely on the first 200 (ours is bit-exact with libjpeg-turbo;
// jpeg-js uses a different IDCT and upsampling, so small differences are expected).
let diff = 0;
for (let i = 0; i < 200; i++) {
  const a = datasets.decodeImage(train[i]);
  const b = jpegjs.decode(train[i], { useTArray: true, formatAsRGBA: false });
  if (a.width !== b.width || a.height !== b.height) throw new Error(`size mismatch on image ${i}`);
  for (let p = 0; p < a.data.length; p++) diff += Math.abs(a.data[p] - b.data[p]);
}
diff /= 200 * 3072;
if (diff > 3) throw new Error(`decoders disagree: mean |pugd − jpeg-js| = ${diff.toFixed(2)}/255`);
const ours = [];
const theirs = [];
const reps = quick ? 1 : 3;
for (let r = 0; r < reps; r++) {
  t = now();
  for (let i = 0; i < n; i++) datasets.decodeImage(train[i]);
  ours.push(now() - t);
  t = now();
  for (let i = 0; i < n; i++) jpegjs.decode(train[i], { useTArray: true, formatAsRGBA: false });
  theirs.push(now() - t);
}
const oursIps = n / (median(ours) / 1000);
const theirsIps = n / (median(theirs) / 1000);
emit({ bench: 'decode CIFAR-10 train JPEGs (32x32 q75)', images: n, reps, pugd_images_per_s: Math.round(oursIps), jpegjs_images_per_s: Math.round(theirsIps), ratio: +(oursIps / theirsIps).toFixed(2), pugd_ms: +median(ours).toFixed(0), jpegjs_ms: +median(theirs).toFixed(0), mean_abs_diff_vs_jpegjs: +diff.toFixed(3), jpegjs_version: '0.4.4' });

// 3. loader
setBackendLogger(null);
await setBackend('wasm');
const ds = await datasets.imageFolder(gz, { root: 'train' });
const loaderBatches = quick ? 20 : 120;
const B = 128;
/** Images/s a loader delivers over `loaderBatches` batches, after an untimed first one (worker start-up). */
async function loaderRate(loader) {
  const first = await loader.next();
  first.x.dispose();
  first.y.dispose();
  const t0 = now();
  for (let i = 0; i < loaderBatches; i++) {
    const b = await loader.next();
    b.x.dispose();
    b.y.dispose();
  }
  const ms = now() - t0;
  loader.close();
  return (loaderBatches * B) / (ms / 1000);
}
const loaderIps = {};
for (const workers of [0, 1, 2]) {
  loaderIps[workers] = await loaderRate(new datasets.DataLoader(ds, { batchSize: B, seed: 1, workers, augment: datasets.cifarTrain }));
  emit({ bench: 'DataLoader CIFAR-10 JPEG, augment (pad4 crop, flip, normalise)', workers, batch: B, batches: loaderBatches, images_per_s: Math.round(loaderIps[workers]) });
}

// 3b. loader on raw CIFAR-10 records (the exact subset: no decoding, augmentation only)
const exactPath = join(dataRoot, 'cifar-10-exact-subset/data_batch_1_first4000.bin.gz');
const rawDs = await datasets.cifar10(exactPath);
{
  const ips = await loaderRate(new datasets.DataLoader(rawDs, { batchSize: B, seed: 1, workers: 2, augment: datasets.cifarTrain, epochs: 100 }));
  emit({ bench: 'DataLoader CIFAR-10 binary records, augment (pad4 crop, flip, normalise)', workers: 2, batch: B, batches: loaderBatches, images_per_s: Math.round(ips) });
}

// 4. ResNet-20 step, batch 32, plain SGD (the optimizers are another branch's work)
const model = models.resnet20({ generator: new Generator(3) });
const feed = new datasets.DataLoader(ds, { batchSize: 32, seed: 2, workers: 0, augment: datasets.cifarTrain });
const fixed = await feed.next();
const step = (x, y) => {
  const loss = tidy(() => nn.functional.crossEntropy(model.forward(x), y));
  loss.backward();
  loss.dispose();
  noGrad(() => {
    for (const p of model.parameters()) p.assign(tidy(() => p.sub(p.grad.mul(0.01))));
  });
  model.zeroGrad();
};
step(fixed.x, fixed.y);
const steps = quick ? 2 : 4;
const stepMs = [];
for (let i = 0; i < steps; i++) {
  t = now();
  step(fixed.x, fixed.y);
  stepMs.push(now() - t);
}
fixed.x.dispose();
fixed.y.dispose();
const stepIps = 32 / (median(stepMs) / 1000);
emit({ bench: 'ResNet-20 training step (WASM backend as on main, batch 32, forward+backward+SGD)', step_ms: +median(stepMs).toFixed(1), images_per_s: +stepIps.toFixed(1), loader_2_workers_over_step: +(loaderIps[2] / stepIps).toFixed(1) });

// 5. training fed by the loader: how long each step waits for its batch
const fed = new datasets.DataLoader(ds, { batchSize: 32, seed: 3, workers: 1, augment: datasets.cifarTrain });
const warm = await fed.next();
warm.x.dispose();
warm.y.dispose();
const waits = [];
t = now();
for (let i = 0; i < steps; i++) {
  const w0 = now();
  const b = await fed.next();
  waits.push(now() - w0);
  step(b.x, b.y);
  b.x.dispose();
  b.y.dispose();
}
const total = now() - t;
fed.close();
emit({ bench: 'ResNet-20 fed by the DataLoader (1 worker, batch 32)', steps, mean_wait_ms: +(waits.reduce((a, b) => a + b, 0) / steps).toFixed(2), max_wait_ms: +Math.max(...waits).toFixed(2), mean_step_ms: +(total / steps).toFixed(1) });
model.dispose();
