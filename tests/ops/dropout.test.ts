// dropout and its Philox4x32-10 device RNG.
//
// Known answers: the philox4x32 lines of the Random123 distribution's test vectors, file
// `examples/kat_vectors` of Random123 (D. E. Shaw Research, https://github.com/DEShawResearch/random123,
// the KAT of Salmon et al., SC'11); the same lines are reproduced in DEShawResearch/fs123,
// core123/ut/ut_philox.cpp. Columns: rounds, counter (4 words), key (2 words), expected (4 words).
// The BigInt reference (tests/reference/dropout.ts) is checked against every line, 7 and 10 rounds;
// the device kernels (10 rounds) against the 10-round lines and against the reference over long
// streams whose counters carry across words.
//
// Dropout: the mask must match the reference exactly (it is integer arithmetic), so WASM and WebGPU
// give the same mask; values are checked against float64 (|err| ≤ 2.5e-7·|ref|: two f32 roundings,
// of 1/(1−p) and of the product) and bit for bit against that f32 model, forward and backward.
import { describe, it, expect, beforeAll } from 'vitest';
import { Generator, getBackend, manualSeed, memory, nn, setBackend, tensor, type Tensor } from '../../engine/index.js';
import { dropThreshold, philoxBits } from '../../engine/ops/dropout.js';
import { dropoutRef, keepMask, philox4x32, philoxStream } from '../reference/dropout.js';
import { expectClose, fdCheck, randData, runOp, testBackends, useBackend } from '../harness.js';

const F = nn.functional;
const h = (s: string) => s.trim().split(/\s+/).map((w) => parseInt(w, 16));
const KAT: { rounds: number; ctr: number[]; key: number[]; want: number[] }[] = [
  ['7', '00000000 00000000 00000000 00000000', '00000000 00000000', '5f6fb709 0d893f64 4f121f81 4f730a48'],
  ['7', 'ffffffff ffffffff ffffffff ffffffff', 'ffffffff ffffffff', '5207ddc2 45165e59 4d8ee751 8c52f662'],
  ['7', '243f6a88 85a308d3 13198a2e 03707344', 'a4093822 299f31d0', '4dfccaba 190a87f0 c47362ba b6b5242a'],
  ['10', '00000000 00000000 00000000 00000000', '00000000 00000000', '6627e8d5 e169c58d bc57ac4c 9b00dbd8'],
  ['10', 'ffffffff ffffffff ffffffff ffffffff', 'ffffffff ffffffff', '408f276d 41c83b0e a20bc7c6 6d5451fd'],
  ['10', '243f6a88 85a308d3 13198a2e 03707344', 'a4093822 299f31d0', 'd16cfe09 94fdcceb 5001e420 24126ea1'],
].map(([r, c, k, w]) => ({ rounds: Number(r), ctr: h(c), key: h(k), want: h(w) }));

const u32 = (a: Int32Array | Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
const sizeOf = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** The key dropout draws from a generator of this seed (the first two words it hands out). */
const keyOf = (seed: number) => {
  const g = new Generator(seed);
  return [g.nextU32(), g.nextU32()];
};

describe('Philox4x32 reference', () => {
  it('matches the Random123 known-answer vectors (7 and 10 rounds)', () => {
    for (const v of KAT) expect(philox4x32(v.ctr, v.key, v.rounds), `philox4x32-${v.rounds} ${v.ctr}`).toEqual(v.want);
  });
});

for (const backend of testBackends()) {
  describe(`dropout on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('device Philox4x32-10 gives the Random123 known answers', async () => {
      for (const v of KAT.filter((k) => k.rounds === 10)) {
        const t = philoxBits(4, v.ctr, v.key);
        expect([...u32((await t.data()) as Int32Array)], `counter ${v.ctr.map((w) => w.toString(16))}`).toEqual(v.want);
        t.dispose();
      }
    });

    it('device stream = reference over 10,007 words, counters carrying into the high words', async () => {
      for (const [counter, key] of [
        [[0, 0, 0, 0], [1, 2]],
        [[0xfffff000, 0xffffffff, 0xffffffff, 7], [0xdeadbeef, 0x01234567]],
      ]) {
        const t = philoxBits(10_007, counter, key);
        const got = u32((await t.data()) as Int32Array);
        const want = philoxStream(10_007, counter, key);
        const bad = got.findIndex((w, i) => w !== want[i]);
        expect(bad, `first differing word (${got[bad]} vs ${want[bad]})`).toBe(-1);
        t.dispose();
      }
    });

    for (const [shape, p, seed] of [
      [[1], 0.5, 1],
      [[7, 13], 0.1, 2],
      [[5, 3, 7, 5], 0.5, 3],
      [[4097], 0.9, 4],
      [[3, 8, 6, 6], 0.25, 5],
    ] as [number[], number, number][]) {
      it(`forward and backward ${JSON.stringify(shape)} p ${p}: mask exact, values vs float64 and bit for bit vs f32`, async () => {
        const n = sizeOf(shape);
        const g = new Generator(100 + seed);
        const X = randData(g, n, { lo: -2, hi: 2 });
        const dy = randData(g, n);
        const r = await runOp([{ data: X.f32, shape, grad: true }], ([x]) => F.dropout(x, p, { generator: new Generator(seed) }), dy.f32);
        const keep = keepMask(philoxStream(n, [0, 0, 0, 0], keyOf(seed)), p);
        expect(Array.from(r.y, (v, i) => v !== 0 || X.f32[i] === 0), 'kept elements are exactly the reference mask').toEqual(keep);
        expectClose('dropout y vs float64', r.y, dropoutRef(X.f64, keep, p), { atol: 0, rtol: 2.5e-7, shape });
        expectClose('dropout dx vs float64', r.grads[0]!, dropoutRef(dy.f64, keep, p), { atol: 0, rtol: 2.5e-7, shape });
        const s = Math.fround(1 / (1 - p));
        expect([...r.y], 'y = f32(x · f32(1/(1−p))) bit for bit').toEqual(Array.from(X.f32, (v, i) => (keep[i] ? Math.fround(v * s) : v * 0)));
        expect([...r.grads[0]!], 'dx = f32(dy · f32(1/(1−p))) bit for bit').toEqual(Array.from(dy.f32, (v, i) => (keep[i] ? Math.fround(v * s) : v * 0)));
        // The reference's own gradient against finite differences (dropout is linear in x for a fixed mask).
        const f = ([xs]: Float64Array[]) => dropoutRef(xs, keep, p);
        fdCheck('dropout', f, [X.f64], dy.f64, [dropoutRef(dy.f64, keep, p)], { maxElems: 64 });
      });
    }

    it('keeps a fraction 1 − p and preserves the mean (2^17 elements, within 5σ)', async () => {
      const n = 1 << 17;
      const ones = tensor(new Float32Array(n).fill(1), [n]);
      for (const p of [0.1, 0.5, 0.9]) {
        const y = F.dropout(ones, p, { generator: new Generator(Math.round(p * 10)) });
        const v = await y.toArray();
        y.dispose();
        const kept = v.reduce((a, x) => a + (x !== 0 ? 1 : 0), 0);
        const sigma = Math.sqrt(n * p * (1 - p));
        expect(Math.abs(kept - n * (1 - p)), `p ${p}: kept ${kept} of ${n}`).toBeLessThan(5 * sigma);
        const mean = v.reduce((a, x) => a + x, 0) / n;
        expect(Math.abs(mean - 1), `p ${p}: mean ${mean}`).toBeLessThan((5 * sigma) / (n * (1 - p)));
      }
      ones.dispose();
    });

    it('the generator decides the mask: same seed, same mask; the next call, a new one; manualSeed for the global generator', async () => {
      const x = tensor(new Float32Array(1000).fill(1), [1000]);
      const mask = async (t: Tensor) => {
        const v = await t.toArray();
        t.dispose();
        return Array.from(v, (e) => e !== 0);
      };
      const g = new Generator(9);
      const a = await mask(F.dropout(x, 0.5, { generator: g }));
      const b = await mask(F.dropout(x, 0.5, { generator: g }));
      expect(a).toEqual(await mask(F.dropout(x, 0.5, { generator: new Generator(9) })));
      expect(b, 'a second call draws a new key').not.toEqual(a);
      manualSeed(9);
      expect(await mask(F.dropout(x, 0.5)), 'the global generator, seeded by manualSeed').toEqual(a);
      const layer = new nn.Dropout(0.5, { generator: new Generator(9) });
      expect(await mask(layer.forward(x)), 'nn.Dropout draws from its generator').toEqual(a);
      layer.eval();
      expect(await mask(layer.forward(x)), 'nn.Dropout in eval mode: identity').toEqual(new Array(1000).fill(true));
      x.dispose();
    });

    it('identity without drawing a key in eval mode, for p = 0 and for an empty tensor; the gradient passes through', async () => {
      const g = new Generator(4);
      const before = g.getState();
      const X = Float32Array.from({ length: 12 }, (_, i) => i - 5.5);
      const dy = Float32Array.from({ length: 12 }, (_, i) => 0.25 * i);
      for (const [label, f] of [
        ['eval', (x: Tensor) => F.dropout(x, 0.5, { training: false, generator: g })],
        ['p = 0', (x: Tensor) => F.dropout(x, 0, { generator: g })],
      ] as const) {
        const r = await runOp([{ data: X, shape: [3, 4], grad: true }], ([x]) => f(x), dy);
        expect([...r.y], label).toEqual([...X]);
        expect([...r.grads[0]!], `${label} dx`).toEqual([...dy]);
        expect(r.shape).toEqual([3, 4]);
      }
      const e = tensor([], [0, 3]);
      const y = F.dropout(e, 0.5, { generator: g });
      expect(y.shape).toEqual([0, 3]);
      y.dispose();
      e.dispose();
      expect(g.getState(), 'no key drawn').toEqual(before);
    });

    it('bad input: errors name the op and the reason', () => {
      const x = tensor([1, 2, 3], [3]);
      expect(() => F.dropout(x, 1)).toThrow('dropout: p must be a probability in [0, 1), got 1');
      expect(() => F.dropout(x, -0.1)).toThrow('dropout: p must be a probability in [0, 1), got -0.1');
      expect(() => F.dropout(x, NaN)).toThrow('got NaN');
      expect(() => F.dropout(x, 0.5, { inplace: true } as never)).toThrow("dropout: unknown option 'inplace'");
      expect(() => F.dropout(x, 0.5, { training: 1 } as never)).toThrow('dropout: training must be true or false, got 1');
      expect(() => new nn.Dropout(1.5)).toThrow('Dropout: p must be a probability in [0, 1), got 1.5');
      const i = tensor([1, 2], [2], { dtype: 'i32' });
      expect(() => F.dropout(i, 0.5)).toThrow('dropout: input must be f32');
      for (const t of [x, i]) t.dispose();
      expect(() => philoxBits(4, [0, 0, 0], [0, 0])).toThrow('philoxBits: counter needs 4 words and key 2');
      expect(() => philoxBits(4, [0, 0, 0, 2 ** 32], [0, 0])).toThrow('philoxBits: counter[3] must be a u32');
    });

    // WASM only: WGSL lets implementations assume NaN-free arithmetic, so WebGPU promises nothing here.
    if (backend === 'wasm') it('a dropped NaN or ±Inf gives NaN, as PyTorch\'s x·mask·scale', async () => {
      const n = 64;
      const keep = keepMask(philoxStream(n, [0, 0, 0, 0], keyOf(7)), 0.5);
      const k = keep.indexOf(true);
      const d = keep.indexOf(false);
      const X = new Float32Array(n).fill(1);
      X[d] = NaN;
      X[keep.indexOf(false, d + 1)] = Infinity;
      X[k] = Infinity;
      const r = await runOp([{ data: X, shape: [n] }], ([x]) => F.dropout(x, 0.5, { generator: new Generator(7) }));
      expect(r.y[d]).toBeNaN();
      expect(r.y[keep.indexOf(false, d + 1)]).toBeNaN();
      expect(r.y[k]).toBe(Infinity);
    });

    it('the threshold: P(keep) = 1 − p to 2⁻³²', () => {
      for (const p of [0, 1e-12, 0.1, 0.5, 0.999, 1 - 2 ** -40]) {
        const d = dropThreshold(p);
        expect(Number.isInteger(d) && d >= 0 && d < 2 ** 32).toBe(true);
        expect(Math.abs((2 ** 32 - d) / 2 ** 32 - (1 - p)), `p ${p}`).toBeLessThanOrEqual(2 ** -32);
      }
    });
  });
}

const both = testBackends().includes('wasm') && testBackends().includes('webgpu');
if (!both) console.log(`tests/ops/dropout.test.ts: the WASM-vs-WebGPU bit comparison is SKIPPED — needs wasm and webgpu in PUGD_TEST_BACKENDS (have ${testBackends().join(',')})`);

describe.skipIf(!both)('dropout: the same bits on WASM and WebGPU', () => {
  it('masks, outputs, gradients and the raw stream are bit-identical', async () => {
    const g = new Generator(31);
    const n = 3 * 17 * 29 + 3;
    const X = randData(g, n, { lo: -3, hi: 3 }).f32;
    const dy = randData(g, n).f32;
    const run = async (name: 'wasm' | 'webgpu') => {
      await setBackend(name);
      const base = memory();
      const r = await runOp([{ data: X, shape: [n], grad: true }], ([x]) => F.dropout(x, 0.3, { generator: new Generator(32) }), dy);
      const bits = philoxBits(n, [0xffffff00, 0, 0xffffffff, 0], [0x9e3779b9, 5]);
      const words = u32((await bits.data()) as Int32Array);
      bits.dispose();
      expect(getBackend().name).toBe(name);
      expect(memory().liveTensors).toBe(base.liveTensors);
      return { y: u32(r.y), dx: u32(r.grads[0]!), words };
    };
    const cpu = await run('wasm');
    const gpu = await run('webgpu');
    for (const k of ['y', 'dx', 'words'] as const) {
      const i = gpu[k].findIndex((v, j) => v !== cpu[k][j]);
      expect(i, `${k}: first differing element`).toBe(-1);
    }
  });
});
