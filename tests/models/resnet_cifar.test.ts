// CIFAR ResNets: parameter counts as in He et al. 2016 (ResNet-20 0.27 M, ResNet-56 0.85 M,
// ResNet-110 1.7 M), PyTorch parameter names, a forward/backward pass that leaks nothing.
import { describe, it, beforeAll, expect } from 'vitest';
import { Generator, memory, models, nn, randn, tidy } from '../../index.js';
import { testBackends, useBackend } from '../harness.js';

for (const backend of testBackends()) {
  describe(`ResNet (CIFAR) on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    it('has the paper parameter counts and PyTorch names', () => {
      const counts: Record<number, number> = { 20: 0.27e6, 32: 0.46e6, 44: 0.66e6, 56: 0.85e6, 110: 1.7e6 };
      for (const [depth, expected] of Object.entries(counts)) {
        const m = new models.ResNetCifar(Number(depth), { generator: new Generator(1) });
        const n = m.numParameters();
        expect(Math.abs(n - expected) / expected, `ResNet-${depth}: ${n}`).toBeLessThan(0.03);
        if (depth === '20') {
          const names = Object.keys(m.stateDict());
          expect(names.slice(0, 6)).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'layer1.0.conv1.weight']);
          expect(names).toContain('layer3.2.bn2.running_var');
          expect(names.slice(-2)).toEqual(['linear.weight', 'linear.bias']);
          expect(m.stateDict()['layer2.0.conv1.weight'].shape).toEqual([32, 16, 3, 3]);
        }
        m.dispose();
      }
    });
    it('trains one step without leaking', async () => {
      const m = models.resnet20({ generator: new Generator(2) });
      const x = randn([2, 3, 32, 32]);
      const before = memory();
      for (let i = 0; i < 2; i++) {
        const loss = tidy(() => nn.functional.crossEntropy(m.forward(x), [3, 7]));
        loss.backward();
        expect(Number.isFinite(await loss.item())).toBe(true);
        loss.dispose();
        for (const p of m.parameters()) expect(p.grad, 'every parameter gets a gradient').not.toBeNull();
        m.zeroGrad();
      }
      expect(memory().liveTensors).toBe(before.liveTensors);
      expect(memory().liveBytes).toBe(before.liveBytes);
      x.dispose();
      m.dispose();
    });
  });
}
