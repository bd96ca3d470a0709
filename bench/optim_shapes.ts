// Parameter shapes of the optimizer benchmarks (bench/optim.bench.ts, bench/lab/optim_kernels.bench.ts).
import { models, Generator } from '../index.js';

/** ResNet-18, CIFAR variant (kuangliu/pytorch-cifar: 3×3 stem, no max-pool, 10 classes): 11,173,962 parameters. */
export function resnet18Shapes(): number[][] {
  const s: number[][] = [[64, 3, 3, 3], [64], [64]];
  let inC = 64;
  for (const [out, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
    for (let b = 0; b < 2; b++) {
      const cin = b === 0 ? inC : out;
      s.push([out, cin, 3, 3], [out], [out], [out, out, 3, 3], [out], [out]);
      if (b === 0 && (stride !== 1 || cin !== out)) s.push([out, cin, 1, 1], [out], [out]);
    }
    inC = out;
  }
  s.push([10, 512], [10]);
  return s;
}

/** ResNet-20 (CIFAR, option-A shortcuts) from the model itself: 269,722 parameters. Needs a backend. */
export function resnet20Shapes(): number[][] {
  const m = models.resnet20({ generator: new Generator(1) });
  const shapes = m.parameters().map((p) => [...p.shape]);
  m.dispose();
  return shapes;
}
