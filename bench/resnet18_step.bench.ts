// ResNet-18 (CIFAR: 3×3 stem without max-pool, 32×32 images, 10 classes; torchvision's names and
// layouts) training step on pugd's WebGPU backend: forward, backward, plain SGD update, reading the
// loss; images/s from the median step. The PyTorch peer for a GPU machine is
// bench/peers/resnet18_torch.py (same model, batch, optimizer; FP32 with TF32 off), run in the same
// command. BENCH_STEM=imagenet BENCH_SIZE=224 BENCH_CLASSES=1000 gives the ImageNet variant on both.
// On a fallback (software) adapter the default is batch 8, as a smoke run: SwiftShader says nothing
// about GPU speed.
// Usage: node bench/run.mjs resnet18_step   (env BENCH_BATCH=128  BENCH_REPS=10)
import { ensureSoftwareAdapterEnv } from '../engine/backends/webgpu_node_env.js';
import { backendDesc, emit, median, plainSgdStep, timeRuns } from './common.js';

ensureSoftwareAdapterEnv();
const pugd = await import('../index.js');
type Gpu = import('../engine/backends/webgpu.js').WebGpuBackend;

pugd.setBackendLogger(null);
await pugd.setBackend((process.env.BENCH_BACKEND ?? 'webgpu') as 'webgpu' | 'wasm');
const fallback = (pugd.getBackend() as Gpu).isFallbackAdapter ?? true;
const B = Number(process.env.BENCH_BATCH ?? (fallback ? 8 : 128));
const stem = (process.env.BENCH_STEM ?? 'cifar') as 'cifar' | 'imagenet';
const S = Number(process.env.BENCH_SIZE ?? (stem === 'cifar' ? 32 : 224));
const K = Number(process.env.BENCH_CLASSES ?? (stem === 'cifar' ? 10 : 1000));
const reps = Number(process.env.BENCH_REPS ?? (fallback ? 2 : 10));
const g = new pugd.Generator(1);
const model = pugd.models.resnet18({ numClasses: K, stem, generator: g });
const x = pugd.randn([B, 3, S, S], { generator: g });
const labels = pugd.tensor(Array.from({ length: B }, () => g.int(K)), [B], { dtype: 'i32' });
const step = plainSgdStep(model, x, labels, 0.01);
const times = await timeRuns(step, 1, reps);
const ms = median(times);
emit({ bench: 'resnet18_step', engine: 'pugd', ...backendDesc(), model: `resnet18 (${stem} stem)`, batch: B, image: S, ms_median: +ms.toFixed(1), images_per_s: +((B * 1000) / ms).toFixed(2), reps, params: model.numParameters() });
process.exit(0);
