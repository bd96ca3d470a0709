// add / sub / mul with broadcasting and scalars, square: forward and backward against the float64
// reference, gradients of the reference by finite differences.
// Tolerance: one f32 rounding per element (rtol 1e-6 of |ref| plus the inputs' scale), and for
// broadcast gradients a sum over the repeated dims (rtol 1e-5 of Σ|terms|).
import { describe, it, beforeAll } from 'vitest';
import { Generator, tensor } from '../../engine/index.js';
import { randData, runOp, expectClose, fdCheck, testBackends, useBackend } from '../harness.js';
import * as ref from '../reference/elementwise.js';

const cases: { a: number[]; b: number[]; seed: number }[] = [
  { a: [5, 3, 7, 5], b: [5, 3, 7, 5], seed: 1 },
  { a: [5, 13, 7, 5], b: [1, 13, 1, 1], seed: 2 },
  { a: [1, 3, 5, 7], b: [5, 1, 1, 7], seed: 3 },
  { a: [7, 5], b: [5], seed: 4 },
  { a: [3], b: [2, 4, 3], seed: 5 },
  { a: [2, 1, 3, 1, 5], b: [1, 4, 1, 6, 1], seed: 6 },
  { a: [1, 1, 1], b: [2, 3, 1], seed: 7 },
  { a: [13], b: [1], seed: 8 },
];

for (const backend of testBackends()) {
  describe(`elementwise on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    for (const op of ['add', 'sub', 'mul'] as const) {
      for (const c of cases) {
        it(`${op} ${JSON.stringify(c.a)} ⊕ ${JSON.stringify(c.b)} (seed ${c.seed})`, async () => {
          const g = new Generator(c.seed);
          const na = c.a.reduce((x, y) => x * y, 1);
          const nb = c.b.reduce((x, y) => x * y, 1);
          const A = randData(g, na);
          const B = randData(g, nb);
          const { y: yr, shape } = ref.binary(op, A.f64, c.a, B.f64, c.b);
          const dy = randData(g, yr.length);
          const r = await runOp([{ data: A.f32, shape: c.a, grad: true }, { data: B.f32, shape: c.b, grad: true }], ([a, b]) => a[op](b), dy.f32);
          expectClose(`${op} forward`, r.y, yr, { rtol: 1e-6, shape });
          const { da, db } = ref.binaryBackward(op, A.f64, c.a, B.f64, c.b, dy.f64);
          expectClose(`${op} da`, r.grads[0]!, da, { rtol: 1e-5, atol: 1e-6, shape: c.a });
          expectClose(`${op} db`, r.grads[1]!, db, { rtol: 1e-5, atol: 1e-6, shape: c.b });
          fdCheck(`${op} reference`, ([a, b]) => ref.binary(op, a, c.a, b, c.b).y, [A.f64, B.f64], dy.f64, [da, db]);
        });
      }
      it(`${op} with a scalar`, async () => {
        const g = new Generator(11);
        const X = randData(g, 35);
        const dy = randData(g, 35);
        const s = 1.75;
        const r = await runOp([{ data: X.f32, shape: [5, 7], grad: true }], ([x]) => x[op](s), dy.f32);
        const yr = X.f64.map((v) => (op === 'add' ? v + s : op === 'sub' ? v - s : v * s));
        expectClose(`${op} scalar forward`, r.y, yr, { rtol: 1e-6 });
        const dr = dy.f64.map((v) => (op === 'mul' ? v * s : v));
        expectClose(`${op} scalar dx`, r.grads[0]!, dr, { rtol: 1e-6 });
      });
    }
    it('square forward and backward', async () => {
      const g = new Generator(12);
      const X = randData(g, 3 * 13 * 5);
      const dy = randData(g, X.f32.length);
      const r = await runOp([{ data: X.f32, shape: [3, 13, 5], grad: true }], ([x]) => x.square(), dy.f32);
      expectClose('square', r.y, X.f64.map((v) => v * v), { rtol: 1e-6 });
      expectClose('square dx', r.grads[0]!, X.f64.map((v, i) => 2 * v * dy.f64[i]), { rtol: 1e-6 });
    });
    it('x·x accumulates both paths into one gradient', async () => {
      const g = new Generator(13);
      const X = randData(g, 10);
      const dy = randData(g, 10);
      const r = await runOp([{ data: X.f32, shape: [10], grad: true }], ([x]) => x.mul(x), dy.f32);
      expectClose('x·x dx', r.grads[0]!, X.f64.map((v, i) => 2 * v * dy.f64[i]), { rtol: 1e-6 });
    });
    it('rejects shapes that do not broadcast, naming the op and both shapes', () => {
      const a = tensor(new Float32Array(6), [2, 3]);
      const b = tensor(new Float32Array(4), [4]);
      try {
        expectThrow(() => a.add(b), /add: shapes \[2,3\] and \[4\] cannot be broadcast/);
      } finally {
        a.dispose();
        b.dispose();
      }
    });
  });
}

function expectThrow(f: () => unknown, re: RegExp): void {
  let msg = '';
  try {
    f();
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!re.test(msg)) throw new Error(`expected an error matching ${re}, got '${msg}'`);
}
