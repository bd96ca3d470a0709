// batchNorm2d in training and eval mode: output, running-stat update (momentum 0.1, unbiased running
// variance), and gradients for x, weight and bias against float64; reference gradients against
// finite differences. Tolerance rtol 1e-4 of |ref| + atol 1e-5: the statistics are f32 reductions
// over N·H·W values followed by a division by √(σ²+eps).
import { describe, it, beforeAll, expect } from 'vitest';
import { Generator, nn, tensor, type Tensor } from '../../engine/index.js';
import { randData, runOp, expectClose, fdCheck, testBackends, useBackend } from '../harness.js';
import * as ref from '../reference/batchnorm2d.js';

const cases = [
  { N: 1, C: 3, H: 7, W: 5, seed: 1 },
  { N: 5, C: 13, H: 7, W: 5, seed: 2 },
  { N: 2, C: 16, H: 8, W: 8, seed: 3 },
  { N: 4, C: 3, H: 1, W: 1, seed: 4 },
];

for (const backend of testBackends()) {
  describe(`batchnorm2d on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    for (const c of cases) {
      for (const training of [true, false]) {
        it(`${training ? 'training' : 'eval'} N${c.N} C${c.C} ${c.H}×${c.W}`, async () => {
          const g = new Generator(c.seed);
          const HW = c.H * c.W;
          const n = c.N * c.C * HW;
          const X = randData(g, n, { lo: -2, hi: 3 });
          const G = randData(g, c.C, { lo: 0.5, hi: 1.5 });
          const B = randData(g, c.C);
          const RM = randData(g, c.C);
          const RV = randData(g, c.C, { lo: 0.5, hi: 2 });
          const dy = randData(g, n);
          const eps = 1e-5;
          const rm = tensor(RM.f32, [c.C]);
          const rv = tensor(RV.f32, [c.C]);
          const r = await runOp(
            [{ data: X.f32, shape: [c.N, c.C, c.H, c.W], grad: true }, { data: G.f32, shape: [c.C], grad: true }, { data: B.f32, shape: [c.C], grad: true }],
            ([x, w, b]) => nn.functional.batchNorm2d(x, w, b, rm, rv, { training, momentum: 0.1, eps }),
            dy.f32,
          );
          const opts = { training, eps, momentum: 0.1, runningMean: RM.f64, runningVar: RV.f64 };
          const f = ref.batchnorm(X.f64, c.N, c.C, HW, G.f64, B.f64, opts);
          expectClose('bn y', r.y, f.y, { rtol: 1e-4, atol: 1e-5, shape: [c.N, c.C, c.H, c.W] });
          expectClose('bn runningMean', await rm.toArray(), f.runningMean, { rtol: 1e-5, atol: 1e-6 });
          expectClose('bn runningVar', await rv.toArray(), f.runningVar, { rtol: 1e-5, atol: 1e-6 });
          rm.dispose();
          rv.dispose();
          const bw = ref.batchnormBackward(X.f64, dy.f64, c.N, c.C, HW, G.f64, f.mean, f.vari, eps, training);
          expectClose('bn dx', r.grads[0]!, bw.dx, { rtol: 1e-4, atol: 1e-4, shape: [c.N, c.C, c.H, c.W] });
          expectClose('bn dweight', r.grads[1]!, bw.dgamma, { rtol: 1e-4, atol: 1e-4 });
          expectClose('bn dbias', r.grads[2]!, bw.dbeta, { rtol: 1e-5, atol: 1e-5 });
          fdCheck(
            'bn reference',
            ([x, w, b]) => ref.batchnorm(x, c.N, c.C, HW, w, b, opts).y,
            [X.f64, G.f64, B.f64], dy.f64, [bw.dx, bw.dgamma, bw.dbeta],
            { maxElems: 48, tol: 1e-5 },
          );
        });
      }
    }
    it('withFrozenRunningStats: same output and gradients, running stats untouched (sync and async)', async () => {
      const c = { N: 2, C: 3, H: 4, W: 5 };
      const g = new Generator(11);
      const n = c.N * c.C * c.H * c.W;
      const X = randData(g, n, { lo: -2, hi: 3 });
      const RM = randData(g, c.C);
      const RV = randData(g, c.C, { lo: 0.5, hi: 2 });
      const dy = randData(g, n);
      const runOnce = async (frozen: 'no' | 'sync' | 'async') => {
        const rm = tensor(RM.f32, [c.C]);
        const rv = tensor(RV.f32, [c.C]);
        const f = ([x]: Tensor[]) => nn.functional.batchNorm2d(x, null, null, rm, rv, { training: true });
        let r: Awaited<ReturnType<typeof runOp>>;
        if (frozen === 'no') r = await runOp([{ data: X.f32, shape: [c.N, c.C, c.H, c.W], grad: true }], f, dy.f32);
        else if (frozen === 'sync') r = await nn.withFrozenRunningStats(() => runOp([{ data: X.f32, shape: [c.N, c.C, c.H, c.W], grad: true }], f, dy.f32));
        else {
          r = await nn.withFrozenRunningStats(async () => {
            await Promise.resolve(); // still frozen after an await
            return runOp([{ data: X.f32, shape: [c.N, c.C, c.H, c.W], grad: true }], f, dy.f32);
          });
        }
        const out = { r, rm: await rm.toArray(), rv: await rv.toArray() };
        rm.dispose();
        rv.dispose();
        return out;
      };
      const base = await runOnce('no');
      const f = ref.batchnorm(X.f64, c.N, c.C, c.H * c.W, new Float64Array(c.C).fill(1), new Float64Array(c.C), {
        training: true, eps: 1e-5, momentum: 0.1, runningMean: RM.f64, runningVar: RV.f64,
      });
      expectClose('running mean updated without the switch', base.rm, f.runningMean, { rtol: 1e-5, atol: 1e-6 });
      for (const mode of ['sync', 'async'] as const) {
        const fr = await runOnce(mode);
        expectClose(`${mode}: y unchanged by the switch`, fr.r.y, base.r.y, { atol: 0, rtol: 0 });
        expectClose(`${mode}: dx unchanged by the switch`, fr.r.grads[0]!, base.r.grads[0]!, { atol: 0, rtol: 0 });
        expectClose(`${mode}: running mean frozen`, fr.rm, RM.f32, { atol: 0, rtol: 0 });
        expectClose(`${mode}: running var frozen`, fr.rv, RV.f32, { atol: 0, rtol: 0 });
      }
      // The switch is off again afterwards, also when fn throws.
      expect(() => nn.withFrozenRunningStats(() => { throw new Error('boom'); })).toThrow('boom');
      const again = await runOnce('no');
      expectClose('running mean updated after the switch', again.rm, f.runningMean, { rtol: 1e-5, atol: 1e-6 });
    });
    it('refuses a single value per channel in training mode', () => {
      const x = tensor(new Float32Array(3), [1, 3, 1, 1]);
      let msg = '';
      try {
        nn.functional.batchNorm2d(x, null, null, null, null, { training: true });
      } catch (e) {
        msg = (e as Error).message;
      }
      x.dispose();
      if (!/batchNorm2d: expected more than 1 value per channel/.test(msg)) throw new Error(`unexpected: ${msg}`);
    });
  });
}
