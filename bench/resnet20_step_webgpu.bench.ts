// ResNet-20 (CIFAR, 0.27 M parameters) training step — forward, backward, plain SGD update, reading the
// loss — on pugd's WebGPU backend and on TensorFlow.js 4.22's WebGPU backend, side by side in one run
// on the same Dawn GPU object (tfjs sees it as navigator.gpu), steps alternating between the engines.
// One JSON line per engine and batch size (images/s from the median step time), then the ratio. On a
// GPU-less machine this is SwiftShader (CPU), and the figure compares kernels on that adapter, not GPU
// speed. tfjs's model is the same network written with
// tfjs-core ops (NHWC, its native layout): 3×3 convs without bias, batch-norm from tf.moments, option-A
// shortcuts (1×1 stride-2 average pool + channel zero padding), global average pooling, dense, softmax CE, SGD.
//
// Usage: node bench/run.mjs resnet20_step_webgpu   (env: BENCH_BATCH=8,32  BENCH_REPS=5  BENCH_SKIP_TFJS=1)
import { ensureSoftwareAdapterEnv } from '../engine/backends/webgpu_node_env.js';
import type * as TF from '@tensorflow/tfjs-core';
import { backendDesc, emit, median, plainSgdStep } from './common.js';

ensureSoftwareAdapterEnv();

const { create, globals } = (await import('webgpu')) as { create: (f: string[]) => GPU; globals: object };
const pugd = await import('../index.js');
const { disposeBackend } = await import('../engine/backend.js');

const gpu = create([]);
// Both engines take the GPU from navigator.gpu: the same Dawn instance and adapter.
Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
// tfjs-backend-webgpu also expects the WebGPU constants (GPUBufferUsage, ...) as globals, as in browsers.
for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;

const batches = (process.env.BENCH_BATCH ?? '8').split(',').map(Number);
const reps = Number(process.env.BENCH_REPS ?? 5);
const lr = 0.05;

async function pugdSetup(B: number): Promise<{ step: () => Promise<void>; done: () => void; dispatches: number }> {
  pugd.setBackendLogger(null);
  await pugd.setBackend('webgpu');
  const g = new pugd.Generator(1);
  const model = pugd.models.resnet20({ generator: g });
  const x = pugd.randn([B, 3, 32, 32], { generator: g });
  const labels = pugd.tensor(Array.from({ length: B }, () => g.int(10)), [B], { dtype: 'i32' });
  const step = plainSgdStep(model, x, labels, lr);
  const b = pugd.getBackend();
  const d0 = b.counters.dispatches;
  await step();
  const dispatches = b.counters.dispatches - d0;
  return {
    step,
    dispatches,
    done: () => {
      x.dispose();
      labels.dispose();
      model.dispose();
      disposeBackend('webgpu');
    },
  };
}

// tfjs's own device on the shared Dawn instance: pugd disposes its devices at exit, tfjs never
// destroys one, so this bench does before process.exit (docs/WEBGPU.md, "Exiting").
let tfjsDevice = null as GPUDevice | null;

async function tfjsSetup(B: number): Promise<{ step: () => Promise<void>; adapter: string }> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  await import('@tensorflow/tfjs-backend-webgpu');
  await tf.setBackend('webgpu');
  await tf.ready();
  tfjsDevice = (tf.backend() as unknown as { device: GPUDevice }).device;
  const g = new pugd.Generator(1);
  const he = (shape: number[], fanIn: number) => tf.variable(tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => g.normal() * Math.sqrt(2 / fanIn)), shape));
  const conv = (cin: number, cout: number) => he([3, 3, cin, cout], cin * 9);
  const bn = (c: number) => ({ gamma: tf.variable(tf.ones([c])), beta: tf.variable(tf.zeros([c])) });
  type Block = { c1: TF.Variable; b1: ReturnType<typeof bn>; c2: TF.Variable; b2: ReturnType<typeof bn>; stride: number; cin: number; cout: number };
  const stem = conv(3, 16);
  const stemBn = bn(16);
  const blocks: Block[] = [];
  let cin = 16;
  for (const [cout, stride] of [[16, 1], [32, 2], [64, 2]] as const) {
    for (let i = 0; i < 3; i++) {
      const s = i === 0 ? stride : 1;
      blocks.push({ c1: conv(cin, cout), b1: bn(cout), c2: conv(cout, cout), b2: bn(cout), stride: s, cin, cout });
      cin = cout;
    }
  }
  const fcW = he([64, 10], 64);
  const fcB = tf.variable(tf.zeros([10]));
  const batchNorm = (h: TF.Tensor4D, p: ReturnType<typeof bn>) => {
    const { mean, variance } = tf.moments(h, [0, 1, 2]);
    return tf.batchNorm(h, mean, variance, p.beta, p.gamma, 1e-5) as TF.Tensor4D;
  };
  const x = tf.tensor4d(Float32Array.from({ length: B * 32 * 32 * 3 }, () => g.normal()), [B, 32, 32, 3]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: B }, () => g.int(10)), 'int32'), 10);
  const forward = () => {
    let h: TF.Tensor4D = tf.relu(batchNorm(tf.conv2d(x, stem as TF.Tensor4D, 1, 'same') as TF.Tensor4D, stemBn));
    for (const b of blocks) {
      let o: TF.Tensor4D = tf.relu(batchNorm(tf.conv2d(h, b.c1 as TF.Tensor4D, b.stride, 'same') as TF.Tensor4D, b.b1));
      o = batchNorm(tf.conv2d(o, b.c2 as TF.Tensor4D, 1, 'same') as TF.Tensor4D, b.b2);
      let sc: TF.Tensor4D = h;
      if (b.stride !== 1 || b.cin !== b.cout) {
        // x[:, ::2, ::2, :] as a 1×1 average pool with stride 2 (tfjs has no StridedSlice gradient).
        sc = tf.avgPool(h, 1, b.stride, 'valid') as TF.Tensor4D;
        const extra = b.cout - b.cin;
        sc = tf.pad(sc, [[0, 0], [0, 0], [0, 0], [extra >> 1, extra - (extra >> 1)]]);
      }
      h = tf.relu(tf.add(o, sc)) as TF.Tensor4D;
    }
    const f = tf.mean(h, [1, 2]) as TF.Tensor2D;
    const logits = tf.add(tf.matMul(f, fcW as TF.Tensor2D), fcB);
    return tf.losses.softmaxCrossEntropy(y, logits) as TF.Scalar;
  };
  const opt = tf.train.sgd(lr);
  const step = async () => {
    const loss = opt.minimize(forward, true)!;
    const v = (await loss.data())[0];
    loss.dispose();
    if (!Number.isFinite(v)) throw new Error(`tfjs loss is ${v}`);
  };
  await step();
  const ad = await gpu.requestAdapter();
  return { step, adapter: `${ad?.info.vendor}/${ad?.info.architecture}` };
}

const stats = (times: number[], B: number) => {
  const ms = median(times);
  return { ms_median: +ms.toFixed(1), ms_min: +Math.min(...times).toFixed(1), images_per_s: +((B * 1000) / ms).toFixed(2), reps: times.length, runs_ms: times.map((t) => +t.toFixed(0)) };
};

// The machines this runs on are shared: steps of the two engines alternate, so that load changes hit
// both alike, and the ratio of the medians is the figure to quote.
for (const B of batches) {
  const p = await pugdSetup(B);
  const t = process.env.BENCH_SKIP_TFJS === '1' ? null : await tfjsSetup(B);
  const pt: number[] = [];
  const tt: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    await p.step();
    pt.push(performance.now() - t0);
    if (t) {
      t0 = performance.now();
      await t.step();
      tt.push(performance.now() - t0);
    }
  }
  const ps = stats(pt, B);
  emit({ bench: 'resnet20_step', engine: 'pugd', ...backendDesc(), batch: B, ...ps, dispatches_per_step: p.dispatches });
  if (t) {
    const ts = stats(tt, B);
    emit({ bench: 'resnet20_step', engine: 'tfjs-webgpu 4.22.0', backend: 'webgpu', adapter: t.adapter, batch: B, ...ts });
    emit({ bench: 'resnet20_step', engine: 'pugd vs tfjs-webgpu', batch: B, speedup_median: +(ts.ms_median / ps.ms_median).toFixed(2), speedup_min: +(ts.ms_min / ps.ms_min).toFixed(2) });
  }
  p.done();
}
tfjsDevice?.destroy();
process.exit(0);
