// countCorrect checks the label range (issue 15 item 10): a host array with a label outside 0..C−1 is an
// error naming it; a label tensor with one never gives a plain count (the kernel makes the count NaN,
// on both kernels: the one-invocation one for small batches and the per-row one + reduction on WebGPU;
// a tensor made from host data may be refused up front, naming the label, where the engine records
// the range at upload). In range, the count matches a float64 reference (first maximum per row).
import { describe, it, beforeAll, expect } from 'vitest';
import { nn, tensor } from '../../engine/index.js';
import { testBackends, useBackend } from '../harness.js';

for (const backend of testBackends()) {
  describe(`countCorrect label range on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    for (const N of [3, 9]) {
      it(`N ${N}: out-of-range labels are an error (array) or NaN (tensor); in range, the exact count`, async () => {
        const values = Array.from({ length: N * 3 }, (_, i) => (i * 7) % 5);
        const z = tensor(values, [N, 3]);
        const good = Array.from({ length: N }, (_, i) => i % 3);
        for (const badLabel of [3, -1]) {
          const labels = good.map((l, i) => (i === N - 1 ? badLabel : l));
          const named = `countCorrect: label ${badLabel} at index ${N - 1} is not a class index in 0..2`;
          expect(() => nn.functional.countCorrect(z, labels)).toThrow(named);
          const lab = tensor(labels, [N], { dtype: 'i32' });
          let got: number | string;
          try {
            const c = nn.functional.countCorrect(z, lab);
            got = await c.item();
            c.dispose();
          } catch (e) {
            got = (e as Error).message;
          }
          lab.dispose();
          if (typeof got === 'number') expect(got, `N ${N}, label ${badLabel}`).toBeNaN();
          else expect(got).toBe(named);
        }
        const want = good.filter((l, n) => {
          const row = values.slice(3 * n, 3 * n + 3);
          return row.indexOf(Math.max(...row)) === l;
        }).length;
        const lab = tensor(good, [N], { dtype: 'i32' });
        const c = nn.functional.countCorrect(z, lab);
        expect(await c.item()).toBe(want);
        for (const t of [c, lab, z]) t.dispose();
      });
    }
  });
}
