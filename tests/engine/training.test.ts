// End-to-end engine checks on a small residual block: the loss falls under plain gradient descent on a
// fixed batch; 100 training steps keep live memory flat; the same seed gives the same bits.
import { describe, it, beforeAll, expect } from 'vitest';
import { memory, tensor } from '../../engine/index.js';
import { testBackends, useBackend } from '../harness.js';
import { tinyResBlock, fixedBatch } from '../tiny_resblock.js';

async function train(steps: number, onStep?: (i: number) => void): Promise<number[]> {
  const net = tinyResBlock({ C: 8, classes: 4, seed: 3 });
  const b = fixedBatch(6, 3, 7, 5, 4);
  const x = tensor(b.x, b.shape);
  const y = tensor(b.labels, [b.labels.length], { dtype: 'i32' });
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const l = net.loss(x, y);
    l.backward();
    losses.push(await l.item());
    l.dispose();
    net.step(0.1);
    onStep?.(i);
  }
  x.dispose();
  y.dispose();
  net.dispose();
  return losses;
}

for (const backend of testBackends()) {
  describe(`training a residual block on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('loss falls on a fixed batch under plain gradient descent', async () => {
      const losses = await train(30);
      expect(losses[0]).toBeGreaterThan(0.5);
      expect(losses[29]).toBeLessThan(losses[0] * 0.5);
    });

    it('100 training steps keep live tensors and bytes flat', async () => {
      const base = memory();
      const seen: { t: number; b: number }[] = [];
      await train(100, () => {
        const m = memory();
        seen.push({ t: m.liveTensors, b: m.liveBytes });
      });
      // After the first step every step ends with the same live set.
      for (let i = 2; i < seen.length; i++) {
        expect(seen[i].t).toBe(seen[1].t);
        expect(seen[i].b).toBe(seen[1].b);
      }
      const end = memory();
      expect(end.liveTensors).toBe(base.liveTensors);
      expect(end.liveBytes).toBe(base.liveBytes);
    });

    it('same seed, same backend → same losses, bit for bit', async () => {
      const a = await train(5);
      const b = await train(5);
      expect(b).toEqual(a);
    });
  });
}
