# PyTorch peer of bench/resnet18_step.bench.ts: torchvision-layout ResNet-18 with the CIFAR stem (3×3
# conv, no max-pool; BENCH_STEM=imagenet for the 7×7 stem + max-pool), same batch, image size, SGD
# (lr 0.01) and loss read per step (loss.item(), a sync as pugd's toArray). Eager FP32, TF32 off.
# Prints one JSON line.
# Usage (GPU machine, same command as the pugd bench):
#   python3 bench/peers/resnet18_torch.py   (env BENCH_BATCH=128 BENCH_REPS=10)
import json, os, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet18(nn.Module):
    def __init__(self, classes, stem):
        super().__init__()
        self.stem = stem
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False) if stem == 'imagenet' else nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        widths = [64, 128, 256, 512]
        layers = []
        for i, w in enumerate(widths):
            cin = 64 if i == 0 else widths[i - 1]
            layers.append(nn.Sequential(Block(cin, w, 1 if i == 0 else 2), Block(w, w, 1)))
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        if self.stem == 'imagenet':
            x = F.max_pool2d(x, 3, 2, 1)
        x = self.layers(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def main():
    dev = 'cuda' if torch.cuda.is_available() else 'cpu'
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    stem = os.environ.get('BENCH_STEM', 'cifar')
    B = int(os.environ.get('BENCH_BATCH', 128))
    S = int(os.environ.get('BENCH_SIZE', 32 if stem == 'cifar' else 224))
    K = int(os.environ.get('BENCH_CLASSES', 10 if stem == 'cifar' else 1000))
    reps = int(os.environ.get('BENCH_REPS', 10))
    torch.manual_seed(1)
    model = ResNet18(K, stem).to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(B, 3, S, S, device=dev)
    y = torch.randint(0, K, (B,), device=dev)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    ms = statistics.median(times)
    print(json.dumps({'bench': 'resnet18_step', 'engine': f'pytorch {torch.__version__} (eager fp32)', 'device': torch.cuda.get_device_name() if dev == 'cuda' else 'cpu',
                      'model': f'resnet18 ({stem} stem)', 'batch': B, 'image': S, 'ms_median': round(ms, 1), 'images_per_s': round(B * 1000 / ms, 2), 'reps': reps}))


if __name__ == '__main__':
    main()
