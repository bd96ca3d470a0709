// Autograd semantics: accumulation, noGrad, detach, graph freeing, leaf rules and error messages.
import { describe, it, beforeAll, expect } from 'vitest';
import { keep, memory, noGrad, tensor, tidy, ones } from '../../engine/index.js';
import { testBackends, useBackend } from '../harness.js';

for (const backend of testBackends()) {
  describe(`autograd on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('accumulates gradients across backward calls until they are cleared', async () => {
      const x = tensor([1, 2, 3], [3], { requiresGrad: true });
      for (let i = 0; i < 2; i++) {
        const l = tidy(() => x.mul(x).sum());
        l.backward();
        l.dispose();
      }
      expect([...(await x.grad!.toArray())]).toEqual([4, 8, 12]); // 2 × 2x
      x.grad = null;
      expect(x.grad).toBeNull();
      x.dispose();
    });

    it('sums the gradient of a tensor used twice (diamond graph)', async () => {
      const x = tensor([0.5, -1], [2], { requiresGrad: true });
      const l = tidy(() => {
        const a = x.mul(3);
        const b = x.relu();
        return a.add(b).mul(a).sum(); // (3x + relu(x))·3x
      });
      l.backward();
      // d/dx = 3·(3x + relu x) + 3x·(3 + 1[x>0])
      const g = await x.grad!.toArray();
      expect(g[0]).toBeCloseTo(3 * (1.5 + 0.5) + 1.5 * 4, 5);
      expect(g[1]).toBeCloseTo(3 * -3 + -3 * 3, 5);
      l.dispose();
      x.dispose();
    });

    it('records nothing under noGrad, and detach stops the gradient', async () => {
      const x = tensor([1, 2], [2], { requiresGrad: true });
      const y = noGrad(() => x.mul(2));
      expect(y.requiresGrad).toBe(false);
      const z = tidy(() => x.detach().mul(x).sum()); // d/dx of stop(x)·x = stop(x)
      z.backward();
      expect([...(await x.grad!.toArray())]).toEqual([1, 2]);
      for (const t of [x, y, z]) t.dispose();
    });

    it('frees the graph after backward and says so on a second backward', () => {
      const x = tensor([1, 2], [2], { requiresGrad: true });
      const l = tidy(() => x.square().sum());
      l.backward();
      expect(() => l.backward()).toThrow(/already freed/);
      l.dispose();
      x.dispose();
    });

    it('keeps what backward needs when the caller disposes intermediates early', async () => {
      const x = tensor([1, -2, 3], [3], { requiresGrad: true });
      const h = x.mul(x);
      const l = h.sum();
      h.dispose(); // the node keeps its own handle on x
      l.backward();
      expect([...(await x.grad!.toArray())]).toEqual([2, -4, 6]);
      l.dispose();
      x.dispose();
    });

    it('releases saved tensors when an undifferentiated output is disposed', () => {
      const x = tensor(new Float32Array(1000), [10, 100], { requiresGrad: true });
      const before = memory();
      const l = tidy(() => x.relu().square().sum());
      expect(memory().liveBytes).toBeGreaterThan(before.liveBytes);
      l.dispose();
      expect(memory().liveBytes).toBe(before.liveBytes);
      expect(memory().liveTensors).toBe(before.liveTensors);
      x.dispose();
    });

    it('explains a missing gradient for non-scalar outputs and tensors without grad', () => {
      const x = tensor([1, 2], [2], { requiresGrad: true });
      const y = x.mul(2);
      expect(() => y.backward()).toThrow(/not a scalar; pass a gradient of the same shape/);
      const c = tensor([1], [1]);
      expect(() => c.backward()).toThrow(/does not require grad/);
      const dy = ones([2]);
      y.backward(dy);
      for (const t of [x, y, c, dy]) t.dispose();
    });

    it('tidy keeps returned tensors and disposes the rest; keep() exempts', () => {
      const before = memory().liveTensors;
      let dropped: ReturnType<typeof tensor> | null = null;
      let exempt: ReturnType<typeof tensor> | null = null;
      const out = tidy(() => {
        const a = tensor([1, 2, 3], [3]);
        dropped = a.add(1);
        exempt = keep(a.add(2));
        return { s: a.sum(), list: [a.mul(2)] };
      });
      expect(dropped!.disposed).toBe(true);
      expect(exempt!.disposed).toBe(false);
      expect(memory().liveTensors).toBe(before + 3);
      out.s.dispose();
      out.list[0].dispose();
      exempt!.dispose();
      expect(memory().liveTensors).toBe(before);
    });

    it('rejects a disposed tensor with its description', () => {
      const x = tensor([1, 2], [2]);
      x.dispose();
      expect(() => x.add(1)).toThrow(/add: tensor f32 \[2\] \(#\d+\) was already disposed/);
    });
  });
}
