// Non-finite gradients in the one-pass optimizers (issue 15 item 8): SGD, Adam and AdamW guard their
// update with the gradient norm, so a NaN/±Inf gradient never reaches the weights or the optimizer
// state, with or without a closure (a gradient computed outside `step()`), and the step (wasm) or
// `checkFinite()` (any backend) reports it naming the step. UGD refuses a step without a closure. NaN
// hyper-parameters are reported as NaN.
import { describe, it, beforeAll, expect } from 'vitest';
import { optim, tensor, type Tensor } from '../../engine/index.js';
import { testBackends, useBackend } from '../harness.js';

async function message(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  return '(resolved)';
}

type OneStep = { name: string; step(c?: optim.Closure): Promise<unknown>; checkFinite(): Promise<void>; stateDict(): optim.OptimizerStateDict; dispose(): void };
const makers: [string, (w: Tensor) => OneStep][] = [
  ['SGD', (w) => new optim.SGD([w], { lr: 0.1, momentum: 0.9 })],
  ['Adam', (w) => new optim.Adam([w], { lr: 0.1 })],
  ['AdamW', (w) => new optim.AdamW([w], { lr: 0.1 })],
];

/** The optimizer's state tensors, as plain numbers. */
async function stateValues(o: OneStep): Promise<number[][]> {
  const st = o.stateDict().state['0'] ?? {};
  return Promise.all(Object.values(st).filter((v): v is Tensor => typeof v === 'object' && 'toArray' in v).map(async (t) => [...(await t.toArray())]));
}

for (const backend of testBackends()) {
  describe(`non-finite gradients on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    for (const [name, make] of makers) {
      it(`${name}.step() without a closure skips a NaN/Inf gradient and reports it`, async () => {
        const w = tensor([1, -2, 0.5], [3], { requiresGrad: true });
        const opt = make(w);
        // A good step from a gradient set by hand: w moves (and the state exists).
        w.grad = tensor([0.5, -1, 0.25], [3]);
        expect(await opt.step()).toBeNull();
        await opt.checkFinite();
        const after1 = [...(await w.toArray())];
        expect(after1).not.toEqual([1, -2, 0.5]);
        const state1 = await stateValues(opt);
        expect(state1.length).toBeGreaterThan(0);
        for (const bad of [[NaN, 1, 1], [1, Infinity, 1], [1, 1, -Infinity]]) {
          w.grad = tensor(bad, [3]);
          // wasm rejects from the step itself; webgpu at the next status read, which checkFinite forces.
          const msg = await message(opt.step().then(() => opt.checkFinite()));
          expect(msg).toMatch(new RegExp(`^${name}\\.step: at step \\d+ the gradient norm is not finite \\(a NaN or ±Inf gradient\\); that step's update was skipped`));
          expect([...(await w.toArray())], `${bad}`).toEqual(after1);
          expect(await stateValues(opt), `${bad}`).toEqual(state1);
        }
        // Training goes on after a skipped step; nothing is left to report.
        w.grad = tensor([0.5, -1, 0.25], [3]);
        await opt.step();
        await opt.checkFinite();
        expect([...(await w.toArray())]).not.toEqual(after1);
        opt.dispose();
        w.dispose();
      });

      it(`${name}.step(closure): a finite loss with a non-finite gradient is skipped too`, async () => {
        const w = tensor([1, 0.5], [2], { requiresGrad: true });
        const opt = make(w);
        // L = Σ 2·(1e19·w)²: 2.5e38, finite in f32; dL/dw = 4e38·w overflows to +Inf for w = 1.
        const closure = () => {
          w.grad = null;
          const l = w.mul(1e19).square().mul(2).sum();
          l.backward();
          return l;
        };
        const msg = await message(opt.step(closure).then(() => opt.checkFinite()));
        expect(msg).toMatch(new RegExp(`^${name}\\.step: at step 1 the gradient norm is not finite`));
        expect([...(await w.toArray())]).toEqual([1, 0.5]);
        opt.dispose();
        w.dispose();
      });
    }

    it('UGD.step() without a closure is refused (it normalises the gradient of its own closure)', async () => {
      const w = tensor([1, 2], [2], { requiresGrad: true });
      const opt = new optim.UGD([w]);
      w.grad = tensor([NaN, 1], [2]);
      expect(await message((opt.step as (c?: optim.Closure) => Promise<unknown>)())).toBe('UGD.step: a closure is required');
      expect([...(await w.toArray())]).toEqual([1, 2]);
      opt.dispose();
      w.dispose();
    });
  });
}

describe('NaN and infinite hyper-parameters are reported as themselves', () => {
  it('lr: NaN says NaN, not null', () => {
    const w = tensor([1], [1], { requiresGrad: true });
    for (const [opts, re] of [
      [{ lr: NaN }, /SGD param group 0: lr must be a finite number, got NaN$/],
      [{ lr: Infinity }, /lr must be a finite number, got Infinity$/],
      [{ momentum: -Infinity }, /momentum must be a finite number, got -Infinity$/],
    ] as const) {
      expect(() => new optim.SGD([w], opts)).toThrow(re);
    }
    expect(() => new optim.Adam([w], { betas: [NaN, 0.999] })).toThrow(/betas\[0\] must be a finite number, got NaN$/);
    w.dispose();
  });
});
