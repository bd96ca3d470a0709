// No GPU→CPU readback inside forward, backward or an optimizer step: over full training steps of the
// small residual block on WebGPU, the real `GPUBuffer.prototype.mapAsync` of Dawn is counted (wrapped,
// not mocked) and must stay at zero until an explicit toArray(); that one read must count exactly one.
// The optimizer step is a plain in-place SGD update (p ← p − lr·g under noGrad); when the optimizers
// land, add them to `steps` below.
import { describe, it, expect } from 'vitest';
import { getBackend, noGrad, setBackend, tensor, tidy, type Tensor } from '../../engine/index.js';
import { fixedBatch, tinyResBlock } from '../tiny_resblock.js';
import { testBackends } from '../harness.js';

const enabled = testBackends().includes('webgpu');
if (!enabled) console.log('tests/webgpu/readback.test.ts: SKIPPED — webgpu is not in PUGD_TEST_BACKENDS');

const sgd = (params: Tensor[], lr: number) =>
  noGrad(() => {
    for (const p of params) {
      if (!p.grad) continue;
      const upd = tidy(() => p.sub(p.grad!.mul(lr)));
      p.assign(upd);
      upd.dispose();
      p.grad = null;
    }
  });

const steps: Record<string, (params: Tensor[]) => void> = {
  'plain SGD': (params) => sgd(params, 0.1),
};

describe.skipIf(!enabled)('webgpu: no readback during training', () => {
  for (const [optName, step] of Object.entries(steps)) {
    it(`forward + backward + ${optName}, 3 steps: zero mapAsync calls; toArray() makes exactly one`, async () => {
      const { globals } = (await import('webgpu')) as unknown as { globals: { GPUBuffer: { prototype: GPUBuffer } } };
      const proto = globals.GPUBuffer.prototype;
      const orig = proto.mapAsync;
      let calls = 0;
      proto.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
        calls++;
        return orig.apply(this, args);
      };
      try {
        await setBackend('webgpu');
        const b = getBackend();
        const net = tinyResBlock({ C: 8, classes: 4, seed: 3 });
        const batch = fixedBatch(6, 3, 7, 5, 4);
        const x = tensor(batch.x, batch.shape);
        const y = tensor(batch.labels, [batch.labels.length], { dtype: 'i32' });
        const reads0 = b.counters.readbacks;
        const submits0 = b.counters.submits;
        let loss: Tensor | null = null;
        for (let i = 0; i < 3; i++) {
          loss?.dispose();
          loss = net.loss(x, y);
          loss.backward();
          step(net.params);
        }
        await b.sync(); // waits for the queue; no mapping
        expect(calls, 'mapAsync calls during 3 training steps').toBe(0);
        expect(b.counters.readbacks - reads0).toBe(0);
        expect(b.counters.submits - submits0, 'work was submitted in batches').toBeGreaterThan(0);
        const v = await loss!.item();
        expect(Number.isFinite(v)).toBe(true);
        expect(calls, 'one toArray() is one mapAsync').toBe(1);
        loss!.dispose();
        x.dispose();
        y.dispose();
        net.dispose();
      } finally {
        proto.mapAsync = orig;
      }
    });
  }
});
