// The optimizer API as outside checks use it: the built package (dist/index.js), `import { optim }`.
import { describe, it, expect } from 'vitest';

const entry = new URL('../../dist/index.js', import.meta.url);

describe('optim in the built package', () => {
  it('exports the optimizers and schedulers under PyTorch names', async () => {
    const p = await import(entry.href);
    for (const name of ['PUGD', 'SGD', 'Adam', 'AdamW', 'SAM', 'UGD', 'Optimizer', 'CosineAnnealingLR', 'StepLR', 'MultiStepLR', 'LinearLR', 'SequentialLR', 'linearWarmup']) {
      expect(typeof p.optim[name], `optim.${name}`).toBe('function');
    }
    for (const name of ['CosineAnnealingLR', 'StepLR', 'MultiStepLR', 'LinearLR', 'SequentialLR', 'linearWarmup']) {
      expect(p.optim.lr_scheduler[name], `optim.lr_scheduler.${name}`).toBe(p.optim[name]);
    }
    expect(typeof p.nn.withFrozenRunningStats).toBe('function');
  });

  it('one PUGD step on TV1 through the package gives the golden w_new', async () => {
    const { setBackend, tensor, optim, memory } = await import(entry.href);
    await setBackend('wasm');
    const w = tensor([1, -2], [1, 2], { requiresGrad: true });
    const A = tensor([3, 1, 1, 2], [2, 2]);
    const opt = new optim.PUGD([w], { lr: 0.1, momentum: 0, weightDecay: 0 });
    const before = memory();
    const loss = await opt.step(() => {
      opt.zeroGrad();
      const l = w.matmul(A).mul(w).sum().mul(0.5);
      l.backward();
      return l;
    });
    expect(memory().readbacks - before.readbacks, 'no readback inside the step').toBe(0);
    expect(await loss.item()).toBe(3.5);
    const got = await w.toArray();
    // SPEC §5 TV1 w_new (f64) at the f32 tolerance 2e-6.
    expect(Math.abs(got[0] - 0.9810523315426676)).toBeLessThan(2e-6);
    expect(Math.abs(got[1] + 1.9018114779618895)).toBeLessThan(2e-6);
    opt.dispose();
    for (const t of [w, A]) t.dispose();
  });
});
