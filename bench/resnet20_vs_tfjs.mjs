// ResNet-20 (CIFAR, 32×32×3, 10 classes) training step, batch 32 by default: pugd's WASM backend
// against TensorFlow.js 4.22's CPU backend (tfjs-backend-wasm cannot train convolutions), side by
// side in one process on the same inputs. A step is forward + backward + a plain SGD update in both.
// Prints one JSON line per engine and one with the ratio; asserts nothing (targets live in the issue).
// Usage: npm run build && node bench/resnet20_vs_tfjs.mjs [--batch 32] [--steps 5] [--tfjs-steps 1]
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const B = arg('batch', 32);
const STEPS = arg('steps', 5);
const TF_STEPS = arg('tfjs-steps', 1);
let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
} catch {}
const common = { bench: 'resnet20_train_step', batch: B, cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, commit };

// Same inputs for both engines (NCHW for pugd, NHWC for tfjs).
const pugd = await import('../dist/index.js');
const g = new pugd.Generator(1);
const xNCHW = Float32Array.from({ length: B * 3 * 32 * 32 }, () => g.normal());
const labels = Int32Array.from({ length: B }, (_, i) => i % 10);
const xNHWC = new Float32Array(xNCHW.length);
for (let n = 0; n < B; n++) for (let c = 0; c < 3; c++) for (let h = 0; h < 32; h++) for (let w = 0; w < 32; w++) {
  xNHWC[((n * 32 + h) * 32 + w) * 3 + c] = xNCHW[((n * 3 + c) * 32 + h) * 32 + w];
}
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];

// ---- pugd (WASM) ----
{
  await pugd.setBackend('wasm');
  const info = pugd.getBackend().info;
  const m = pugd.models.resnet20({ generator: new pugd.Generator(2) });
  const x = pugd.tensor(xNCHW, [B, 3, 32, 32]);
  const y = pugd.tensor(labels, [B], { dtype: 'i32' });
  const params = m.parameters();
  const step = async () => {
    const loss = pugd.tidy(() => pugd.nn.functional.crossEntropy(m.forward(x), y));
    loss.backward();
    pugd.noGrad(() => {
      for (const p of params) {
        const u = pugd.tidy(() => p.sub(p.grad.mul(0.01)));
        p.assign(u);
        u.dispose();
        p.grad = null;
      }
    });
    const v = await loss.item();
    loss.dispose();
    return v;
  };
  const first = await step();
  const times = [];
  for (let i = 0; i < STEPS; i++) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  const ms = median(times);
  globalThis.pugdResult = { ...common, engine: 'pugd', backend: info.description, threads: info.threads ?? 1, steps: STEPS, ms_per_step: +ms.toFixed(1), images_per_s: +((1000 * B) / ms).toFixed(2), first_loss: +first.toFixed(4) };
  console.log(JSON.stringify(globalThis.pugdResult));
  x.dispose();
  y.dispose();
  m.dispose();
}

// ---- TensorFlow.js 4.22, CPU backend ----
{
  // tfjs-core 4.x registers gradients in a separate ESM module with extensionless imports that Node
  // cannot load directly; esbuild bundles core, gradients and the CPU backend into one file.
  const { build } = await import('esbuild');
  const { mkdtempSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const outfile = join(mkdtempSync(join(tmpdir(), 'pugd-tfjs-')), 'tfjs.cjs');
  await build({
    stdin: { contents: "export * from '@tensorflow/tfjs-core'; import '@tensorflow/tfjs-core/dist/register_all_gradients'; import '@tensorflow/tfjs-backend-cpu';", resolveDir: process.cwd() },
    bundle: true, platform: 'node', format: 'cjs', outfile, logLevel: 'error', mainFields: ['module', 'main'], // one copy of tfjs-core for all three
  });
  const { createRequire } = await import('node:module');
  const tf = createRequire(import.meta.url)(outfile);
  await tf.setBackend('cpu');
  await tf.ready();
  const tg = new pugd.Generator(2);
  const kaiming = (shape, fanIn) => tf.variable(tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.sqrt(2 / fanIn) * tg.normal()), shape));
  const vars = [];
  const conv = (cin, cout) => { const w = kaiming([3, 3, cin, cout], 9 * cin); vars.push(w); return w; };
  const bn = (c) => { const s = tf.variable(tf.ones([c])); const o = tf.variable(tf.zeros([c])); vars.push(s, o); return { s, o }; };
  const stem = { w: conv(3, 16), bn: bn(16) };
  const blocks = [];
  let inC = 16;
  for (const [c, stride] of [[16, 1], [32, 2], [64, 2]]) {
    for (let i = 0; i < 3; i++) {
      const s = i === 0 ? stride : 1;
      blocks.push({ inC, c, s, w1: conv(inC, c), b1: bn(c), w2: conv(c, c), b2: bn(c) });
      inC = c;
    }
  }
  const fcW = kaiming([64, 10], 64);
  const fcB = tf.variable(tf.zeros([10]));
  vars.push(fcW, fcB);
  const bnf = (x, p) => { const { mean, variance } = tf.moments(x, [0, 1, 2]); return tf.batchNorm(x, mean, variance, p.o, p.s, 1e-5); };
  const forward = (x) => {
    let h = tf.relu(bnf(tf.conv2d(x, stem.w, 1, 'same'), stem.bn));
    for (const b of blocks) {
      let o = tf.relu(bnf(tf.conv2d(h, b.w1, b.s, 'same'), b.b1));
      o = bnf(tf.conv2d(o, b.w2, 1, 'same'), b.b2);
      let sc = h;
      if (b.s !== 1 || b.inC !== b.c) {
        sc = tf.avgPool(h, 1, b.s, 'valid'); // x[:, ::2, ::2, :] (stridedSlice has no gradient in tfjs)
        const extra = b.c - b.inC;
        sc = tf.pad(sc, [[0, 0], [0, 0], [0, 0], [Math.floor(extra / 2), extra - Math.floor(extra / 2)]]);
      }
      h = tf.relu(tf.add(o, sc));
    }
    return tf.add(tf.matMul(tf.mean(h, [1, 2]), fcW), fcB);
  };
  const x = tf.tensor(xNHWC, [B, 32, 32, 3]);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
  const step = () => {
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, forward(x)), vars);
    tf.tidy(() => { for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01))); });
    const l = value.dataSync()[0];
    tf.dispose([value, grads]);
    return l;
  };
  const first = step();
  const times = [];
  for (let i = 0; i < TF_STEPS; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  const ms = median(times);
  const tfr = { ...common, engine: 'tfjs', version: tf.version_core, backend: 'cpu', steps: TF_STEPS, ms_per_step: +ms.toFixed(1), images_per_s: +((1000 * B) / ms).toFixed(3), first_loss: +first.toFixed(4) };
  console.log(JSON.stringify(tfr));
  const p = globalThis.pugdResult;
  console.log(JSON.stringify({ ...common, comparison: 'pugd_wasm_vs_tfjs_cpu', speedup: +(p.images_per_s / tfr.images_per_s).toFixed(1), pugd_images_per_s: p.images_per_s, tfjs_images_per_s: tfr.images_per_s }));
}
