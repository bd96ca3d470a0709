// The public API as outside checks use it: the built package entry (dist/index.js, made by
// `npm run build`, which `npm test` runs first), exactly the names the engine issue lists.
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';

const entry = new URL('../dist/index.js', import.meta.url);

describe('public API of the built package', () => {
  it('dist/index.js exists (npm test builds first)', () => {
    expect(existsSync(entry), 'run `npm run build` (npm test does it for you)').toBe(true);
  });

  it('exports the names of the engine issue and they work together', async () => {
    const p = await import(entry.href);
    for (const name of ['setBackend', 'getBackend', 'tensor', 'zeros', 'ones', 'randn', 'noGrad', 'memory', 'nn']) {
      expect(p[name], name).toBeDefined();
    }
    for (const fn of ['conv2d', 'batchNorm2d', 'linear', 'maxPool2d', 'avgPool2d', 'globalAvgPool2d', 'crossEntropy']) {
      expect(typeof p.nn.functional[fn], `nn.functional.${fn}`).toBe('function');
    }
    expect(await p.setBackend('wasm')).toBe('wasm');
    expect(p.getBackend().name).toBe('wasm');
    const m0 = p.memory();
    expect(m0).toHaveProperty('liveTensors');
    expect(m0).toHaveProperty('liveBytes');
    const w = p.tensor([1, -2], [1, 2], { requiresGrad: true });
    const A = p.tensor([3, 1, 1, 2], [2, 2]);
    const loss = w.matmul(A).mul(w).sum().mul(0.5); // ½·wᵀAw (A symmetric)
    const free = p.noGrad(() => w.mul(2));
    expect(free.requiresGrad).toBe(false);
    free.dispose();
    expect(loss.shape).toEqual([1]);
    expect([...(await loss.toArray())]).toEqual([3.5]);
    loss.backward();
    expect([...(await w.grad.toArray())]).toEqual([1, -3]); // A·w
    expect(w.requiresGrad).toBe(true);
    const z = p.zeros([2, 3]);
    const o = p.ones([2, 3]);
    const r = p.randn([4, 4]);
    expect([...(await z.add(o).toArray())]).toEqual([1, 1, 1, 1, 1, 1]);
    expect(r.shape).toEqual([4, 4]);
    expect(o.reshape([3, 2]).shape).toEqual([3, 2]);
    expect((await o.relu().mean().toArray())[0]).toBe(1);
    for (const t of [w, A, loss, z, o, r]) t.dispose();
  });
});
