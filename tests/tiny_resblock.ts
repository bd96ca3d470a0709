// A small residual network used by several suites: conv-bn-relu-conv-bn + skip, relu, global average
// pool, linear, cross-entropy; trained by plain gradient descent. Weights are drawn on the host from
// a seeded generator, so every backend starts from bit-identical parameters.
import { Generator, nn, noGrad, tensor, tidy, type Tensor } from '../engine/index.js';

const F = nn.functional;

export interface TinyNet {
  params: Tensor[];
  buffers: Tensor[];
  loss(x: Tensor, labels: Tensor): Tensor;
  step(lr: number): void;
  dispose(): void;
}

export function tinyResBlock(opts: { C?: number; classes?: number; inC?: number; seed?: number } = {}): TinyNet {
  const C = opts.C ?? 8;
  const inC = opts.inC ?? 3;
  const classes = opts.classes ?? 4;
  const g = new Generator(opts.seed ?? 1);
  const randn = (shape: number[], std: number, requiresGrad = true) =>
    tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => std * g.normal()), shape, { requiresGrad });
  const stem = randn([C, inC, 3, 3], Math.sqrt(2 / (inC * 9)));
  const w1 = randn([C, C, 3, 3], Math.sqrt(2 / (C * 9)));
  const w2 = randn([C, C, 3, 3], Math.sqrt(2 / (C * 9)));
  const ones = () => tensor(new Float32Array(C).fill(1), [C], { requiresGrad: true });
  const zeros = (rg = true) => tensor(new Float32Array(C), [C], { requiresGrad: rg });
  const g1 = ones(), b1 = zeros(), g2 = ones(), b2 = zeros();
  const rm1 = zeros(false), rv1 = tensor(new Float32Array(C).fill(1), [C]);
  const rm2 = zeros(false), rv2 = tensor(new Float32Array(C).fill(1), [C]);
  const fcw = randn([classes, C], Math.sqrt(1 / C));
  const fcb = tensor(new Float32Array(classes), [classes], { requiresGrad: true });
  const params = [stem, w1, g1, b1, w2, g2, b2, fcw, fcb];
  const buffers = [rm1, rv1, rm2, rv2];
  return {
    params,
    buffers,
    loss(x, labels) {
      return tidy(() => {
        const h = F.relu(F.conv2d(x, stem, null, { padding: 1 }));
        let y = F.conv2d(h, w1, null, { padding: 1 });
        y = F.relu(F.batchNorm2d(y, g1, b1, rm1, rv1, { training: true }));
        y = F.conv2d(y, w2, null, { padding: 1 });
        y = F.batchNorm2d(y, g2, b2, rm2, rv2, { training: true });
        y = F.relu(y.add(h));
        const feat = F.globalAvgPool2d(y).flatten();
        return F.crossEntropy(F.linear(feat, fcw, fcb), labels);
      });
    },
    step(lr) {
      noGrad(() => {
        for (const p of params) {
          if (!p.grad) continue;
          const upd = tidy(() => p.sub(p.grad!.mul(lr)));
          p.assign(upd);
          upd.dispose();
          p.grad = null;
        }
      });
    },
    dispose() {
      for (const t of [...params, ...buffers]) t.dispose();
    },
  };
}

/** A fixed batch: N images [N,inC,H,W] and labels, from a seeded generator. */
export function fixedBatch(N: number, inC: number, H: number, W: number, classes: number, seed = 2) {
  const g = new Generator(seed);
  const x = Float32Array.from({ length: N * inC * H * W }, () => g.normal());
  const labels = Array.from({ length: N }, () => g.int(classes));
  return { x, labels, shape: [N, inC, H, W] };
}
