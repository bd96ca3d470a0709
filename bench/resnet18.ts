// ResNet-18 (ImageNet layout: 7×7/2 stem, 3×3/2 max-pool, four stages of two basic blocks with 64, 128,
// 256, 512 channels, projection shortcuts (1×1 conv + BN) where the shape changes, global average pool,
// linear) built from pugd's layers, with torchvision's parameter layout. Bench-only: the models branch
// owns models/. Its PyTorch twin is bench/peers/resnet18_torch.py.
import { nn, type Tensor, type Generator } from '../engine/index.js';

const { Module, Conv2d, BatchNorm2d, Linear, Sequential, functional: F } = nn;

class BasicBlock extends Module {
  readonly conv1: InstanceType<typeof Conv2d>;
  readonly bn1: InstanceType<typeof BatchNorm2d>;
  readonly conv2: InstanceType<typeof Conv2d>;
  readonly bn2: InstanceType<typeof BatchNorm2d>;
  readonly down: InstanceType<typeof Sequential> | null;
  constructor(inC: number, outC: number, stride: number, generator?: Generator) {
    super();
    this.conv1 = this.module('conv1', new Conv2d(inC, outC, 3, { stride, padding: 1, bias: false, generator }));
    this.bn1 = this.module('bn1', new BatchNorm2d(outC));
    this.conv2 = this.module('conv2', new Conv2d(outC, outC, 3, { padding: 1, bias: false, generator }));
    this.bn2 = this.module('bn2', new BatchNorm2d(outC));
    this.down = stride !== 1 || inC !== outC
      ? this.module('downsample', new Sequential(new Conv2d(inC, outC, 1, { stride, bias: false, generator }), new BatchNorm2d(outC)))
      : null;
  }
  forward(x: Tensor): Tensor {
    const a = this.conv1.forward(x);
    const b = this.bn1.forward(a);
    a.dispose();
    const c = F.relu(b);
    b.dispose();
    const d = this.conv2.forward(c);
    c.dispose();
    const e = this.bn2.forward(d);
    d.dispose();
    const sc = this.down ? this.down.forward(x) : x;
    const s = e.add(sc);
    e.dispose();
    if (sc !== x) sc.dispose();
    const y = F.relu(s);
    s.dispose();
    return y;
  }
}

export class ResNet18 extends Module {
  readonly conv1: InstanceType<typeof Conv2d>;
  readonly bn1: InstanceType<typeof BatchNorm2d>;
  readonly stages: InstanceType<typeof Sequential>[];
  readonly fc: InstanceType<typeof Linear>;
  constructor(numClasses = 1000, generator?: Generator) {
    super();
    this.conv1 = this.module('conv1', new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false, generator }));
    this.bn1 = this.module('bn1', new BatchNorm2d(64));
    const widths = [64, 128, 256, 512];
    this.stages = widths.map((w, i) => {
      const inC = i === 0 ? 64 : widths[i - 1];
      return this.module(`layer${i + 1}`, new Sequential(new BasicBlock(inC, w, i === 0 ? 1 : 2, generator), new BasicBlock(w, w, 1, generator)));
    });
    this.fc = this.module('fc', new Linear(512, numClasses, { generator }));
  }
  forward(x: Tensor): Tensor {
    const a = this.conv1.forward(x);
    const b = this.bn1.forward(a);
    a.dispose();
    const c = F.relu(b);
    b.dispose();
    let h = F.maxPool2d(c, { kernel: 3, stride: 2, padding: 1 });
    c.dispose();
    for (const s of this.stages) {
      const n = s.forward(h);
      h.dispose();
      h = n;
    }
    const p = F.globalAvgPool2d(h);
    h.dispose();
    const f = p.flatten();
    p.dispose();
    const y = this.fc.forward(f);
    f.dispose();
    return y;
  }
}
