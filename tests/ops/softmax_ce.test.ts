// crossEntropy (mean and sum, with and without label smoothing) forward and backward against float64;
// reference gradient against finite differences. Tolerance rtol 1e-5: a log-sum-exp per row in f32.
import { describe, it, beforeAll } from 'vitest';
import { Generator, nn, tensor } from '../../engine/index.js';
import { randData, runOp, expectClose, fdCheck, testBackends, useBackend } from '../harness.js';
import * as ref from '../reference/softmax_ce.js';

const cases = [
  { N: 1, C: 10, eps: 0, red: 'mean' as const },
  { N: 5, C: 3, eps: 0.1, red: 'mean' as const },
  { N: 13, C: 100, eps: 0, red: 'sum' as const },
  { N: 32, C: 10, eps: 0.2, red: 'mean' as const },
];

for (const backend of testBackends()) {
  describe(`softmax_ce on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    for (const c of cases) {
      it(`N${c.N} C${c.C} smoothing ${c.eps} ${c.red}`, async () => {
        const g = new Generator(c.N * c.C);
        const Z = randData(g, c.N * c.C, { lo: -4, hi: 4 });
        const labels = Array.from({ length: c.N }, () => g.int(c.C));
        const dl = randData(g, 1);
        const lab = tensor(labels, [c.N], { dtype: 'i32' });
        const r = await runOp([{ data: Z.f32, shape: [c.N, c.C], grad: true }], ([z]) => nn.functional.crossEntropy(z, lab, { labelSmoothing: c.eps, reduction: c.red }), dl.f32);
        lab.dispose();
        const f = ref.softmaxCE(Z.f64, labels, c.N, c.C, c.eps, c.red);
        expectClose('ce loss', r.y, [f.loss], { rtol: 1e-5, atol: 1e-6 });
        expectClose('ce dz', r.grads[0]!, f.dz.map((v) => v * dl.f64[0]), { rtol: 1e-5, atol: 1e-7, shape: [c.N, c.C] });
        fdCheck('ce reference', ([z]) => Float64Array.of(ref.softmaxCE(z, labels, c.N, c.C, c.eps, c.red).loss), [Z.f64], dl.f64, [f.dz.map((v) => v * dl.f64[0])]);
      });
    }
    it('accepts host labels and names a bad label', async () => {
      const z = tensor(new Float32Array(6), [2, 3]);
      let msg = '';
      try {
        nn.functional.crossEntropy(z, [0, 3]);
      } catch (e) {
        msg = (e as Error).message;
      }
      const l = nn.functional.crossEntropy(z, [0, 2]);
      expectClose('uniform logits', await l.toArray(), [Math.log(3)], { rtol: 1e-6 });
      l.dispose();
      z.dispose();
      if (!msg.includes('crossEntropy: label 3 at index 1 is not a class index in 0..2')) throw new Error(`unexpected: ${msg}`);
    });
    it('countCorrect counts argmax hits', async () => {
      const z = tensor([1, 5, 2, 9, 0, 1, 3, 3, 1], [3, 3]);
      const c = nn.functional.countCorrect(z, [1, 0, 1]); // row 3 ties: the first maximum (index 0) counts
      const v = await c.item();
      z.dispose();
      c.dispose();
      if (v !== 2) throw new Error(`expected 2 correct, got ${v}`);
    });
  });
}
