// The step context across PUGD's and SAM's two passes (engine/step_context.ts), on every backend:
// - dropout's masks are replayed in pass 2 by default and drawn anew with randomnessOnPerturbedPass:
//   'fresh' (observed in the closure); end to end, a default step of a dropout model gives the same
//   weights, bit for bit, as the same step of the model with each dropout replaced by a product with
//   the mask pass 1 drew (so g2 really is the gradient of pass 1's sub-network at w+ε);
// - the generator advances as in one forward pass when masks are reused;
// - BatchNorm's running statistics follow bnStatsOnPerturbedPass, independently of the masks, and
//   nn.withFrozenRunningStats inside a closure freezes them without breaking the replay;
// - a pass 2 whose random ops differ from pass 1's is refused with a message and w restored.
import { describe, it, beforeAll, expect } from 'vitest';
import { Generator, keep, nn, optim, tensor, tidy, type Tensor } from '../../engine/index.js';
import { DEFAULT_POLICY, passPolicy } from '../../engine/step_context.js';
import { testBackends, useBackend } from '../harness.js';

const F = nn.functional;
const P = 0.4;
const SCALE = Math.fround(1 / (1 - P));

type Opt = { step(c: () => Promise<Tensor>): Promise<Tensor>; zeroGrad(): void; dispose(): void };
type Make = (ps: Tensor[], o: { randomnessOnPerturbedPass?: 'reuse' | 'fresh'; bnStatsOnPerturbedPass?: boolean }) => Opt;
const optimizers: [string, Make][] = [
  ['PUGD', (ps, o) => new optim.PUGD(ps, { lr: 0.1, ...o })],
  ['SAM', (ps, o) => new optim.SAM(ps, { rho: 0.5, lr: 0.1, momentum: 0.9, ...o })],
  ['ASAM(AdamW)', (ps, o) => new optim.SAM(ps, { rho: 0.5, adaptive: true, base: 'adamw', lr: 0.01, ...o })],
];

/** x [6,10] → dropout → linear 10→8 → dropout → relu → linear 8→3 → cross-entropy, weights from a seed. */
function mlp() {
  const g = new Generator(3);
  const r = (shape: number[], std: number, grad = true) =>
    tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => std * g.normal()), shape, { requiresGrad: grad });
  const params = [r([8, 10], 0.4), r([8], 0.1), r([3, 8], 0.4)];
  const x = r([6, 10], 1, false);
  const labels = tensor([0, 1, 2, 0, 1, 2], [6], { dtype: 'i32' });
  /** `drop(t, k)` is the k-th dropout of the forward pass. */
  const loss = (drop: (t: Tensor, k: number) => Tensor) => {
    const h0 = drop(x, 0);
    const h = drop(F.linear(h0, params[0], params[1]), 1);
    return F.crossEntropy(F.linear(h.relu(), params[2]), labels);
  };
  const dispose = () => [...params, x, labels].forEach((t) => t.dispose());
  return { params, loss, dispose };
}

const maskOf = (y: Float32Array) => Array.from(y, (v) => v !== 0);

for (const backend of testBackends()) {
  describe(`the step context on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    for (const [name, make] of optimizers) {
      it(`${name}: pass 2 reuses pass 1's dropout masks by default, draws new ones with 'fresh'; the generator advances as in one pass`, async () => {
        for (const randomness of ['reuse', 'fresh'] as const) {
          const net = mlp();
          const g = new Generator(77);
          const opt = make(net.params, randomness === 'reuse' ? {} : { randomnessOnPerturbedPass: 'fresh' }); // 'reuse' is the default
          const seen: boolean[][][] = [];
          await opt.step(async () => {
            opt.zeroGrad();
            const outs: Tensor[] = [];
            const l = net.loss((t, k) => {
              const y = F.dropout(t, P, { generator: g });
              if (k === 0) outs.push(y); // the input is never 0, so the mask is y ≠ 0
              return y;
            });
            l.backward();
            seen.push([maskOf(await outs[0].toArray())]);
            return l;
          });
          expect(seen.length, 'two passes').toBe(2);
          if (randomness === 'reuse') expect(seen[1], `${name}: the same mask in pass 2`).toEqual(seen[0]);
          else expect(seen[1], `${name} 'fresh': a new mask in pass 2`).not.toEqual(seen[0]);
          // Two dropout calls per pass, one key (two words) each.
          const once = new Generator(77);
          for (let i = 0; i < (randomness === 'reuse' ? 4 : 8); i++) once.nextU32();
          expect(g.getState(), `${randomness}: generator draws`).toEqual(once.getState());
          expect(passPolicy(), 'the default policy after the step').toEqual(DEFAULT_POLICY);
          opt.dispose();
          net.dispose();
        }
      });

      it(`${name}: a step with dropout gives, bit for bit, the weights of the step on pass 1's fixed masks ('fresh' does not)`, async () => {
        const run = async (mode: 'reuse' | 'fresh' | 'fixed', masks: Tensor[]) => {
          const net = mlp();
          const g = new Generator(5);
          const opt = make(net.params, mode === 'fresh' ? { randomnessOnPerturbedPass: 'fresh' } : {});
          let pass = 0;
          await opt.step(async () => {
            opt.zeroGrad();
            const outs: [Tensor, Tensor][] = [];
            const l = net.loss((t, k) => {
              if (mode === 'fixed') return t.mul(masks[k]);
              const y = F.dropout(t, P, { generator: g });
              outs.push([t, y]);
              return y;
            });
            l.backward();
            // Pass 1 of the dropout run: the mask as a tensor of 1/(1−p) or 0, for the fixed run.
            if (mode === 'reuse' && pass++ === 0) {
              for (const [t, y] of outs) {
                const [tv, yv] = await Promise.all([t.toArray(), y.toArray()]);
                expect(tv.every((v) => v !== 0), 'dropout inputs are nonzero, so the mask is observable').toBe(true);
                masks.push(keep(tensor(Array.from(yv, (v) => (v !== 0 ? SCALE : 0)), [...y.shape])));
              }
            }
            return l;
          });
          const w = await Promise.all(net.params.map((p) => p.toArray()));
          opt.dispose();
          net.dispose();
          return w.map((a) => [...a]);
        };
        const masks: Tensor[] = [];
        const reuse = await run('reuse', masks);
        const fixed = await run('fixed', masks);
        const fresh = await run('fresh', masks);
        masks.forEach((m) => m.dispose());
        expect(masks.length).toBe(2);
        expect(reuse, `${name}: dropout step = fixed-mask step`).toEqual(fixed);
        expect(fresh, `${name}: 'fresh' masks change the step`).not.toEqual(fixed);
      });

      it(`${name}: BatchNorm running stats follow bnStatsOnPerturbedPass while the masks are reused; nn.withFrozenRunningStats in the closure keeps the replay`, async () => {
        const g0 = new Generator(8);
        const xData = Float32Array.from({ length: 4 * 3 * 5 * 5 }, () => g0.normal());
        const run = async (mode: 'one forward' | 'default' | 'frozen' | 'frozen in closure') => {
          const init = new Generator(9);
          const net = new nn.Sequential(
            new nn.Conv2d(3, 4, 3, { padding: 1, generator: init }),
            new nn.BatchNorm2d(4),
            new nn.Dropout(P, { generator: new Generator(10) }),
            new nn.GlobalAvgPool2d(),
            new nn.Flatten(),
            new nn.Linear(4, 3, { generator: init }),
          );
          const x = tensor(xData, [4, 3, 5, 5]);
          const labels = tensor([0, 1, 2, 1], [4], { dtype: 'i32' });
          const dropOut: Float32Array[] = [];
          const forward = () => {
            const h = tidy(() => net.at(1).forward(net.at(0).forward(x)));
            const d = net.at(2).forward(h);
            h.dispose();
            const l = tidy(() => F.crossEntropy(net.at(5).forward(net.at(4).forward(net.at(3).forward(d))), labels));
            return { d, l };
          };
          if (mode === 'one forward') {
            const { d, l } = forward();
            dropOut.push(await d.toArray());
            d.dispose();
            l.dispose();
          } else {
            const opt = make(net.parameters(), { bnStatsOnPerturbedPass: mode === 'default' });
            await opt.step(async () => {
              opt.zeroGrad();
              const { d, l } = mode === 'frozen in closure' ? nn.withFrozenRunningStats(forward) : forward();
              dropOut.push(await d.toArray());
              l.backward();
              return l;
            });
            opt.dispose();
          }
          const stats = await Promise.all(net.namedBuffers().map(([, t]) => t.toArray()));
          for (const t of [x, labels]) t.dispose();
          net.dispose();
          return { stats: stats.map((s) => [...s]), masks: dropOut.map(maskOf) };
        };
        const once = await run('one forward');
        const frozen = await run('frozen');
        const both = await run('default');
        const inClosure = await run('frozen in closure');
        expect(frozen.stats, 'bnStatsOnPerturbedPass: false: exactly the single update at w').toEqual(once.stats);
        expect(both.stats, 'default: pass 2 updates the running stats again').not.toEqual(once.stats);
        expect(inClosure.stats, 'withFrozenRunningStats in both passes: untouched (mean 0, var 1)').toEqual([[0, 0, 0, 0], [1, 1, 1, 1]]);
        for (const r of [frozen, both, inClosure]) {
          expect(r.masks[1], 'pass 2 mask = pass 1 mask').toEqual(r.masks[0]);
          expect(r.masks[0], 'pass 1 mask = the mask of one forward pass').toEqual(once.masks[0]);
        }
      });

      it(`${name}: a pass 2 with other random ops than pass 1 is refused, naming the call, and w is restored`, async () => {
        for (const [what, extra, re] of [
          ['an extra dropout', (t: Tensor) => F.dropout(F.dropout(t, P), P), /pass 2 called a random op \(dropout, call 3\) that pass 1 did not/],
          ['another element count', (t: Tensor) => F.dropout(t.reshape([-1]).sum(), P), /random op 2 of pass 2 is dropout over 1 elements, but in pass 1 it was dropout over 48/],
        ] as const) {
          const net = mlp();
          const w0 = await Promise.all(net.params.map((p) => p.toArray()));
          const opt = make(net.params, {});
          let pass = 0;
          let msg = '(resolved)';
          try {
            await opt.step(async () => {
              opt.zeroGrad();
              const second = pass++ === 1;
              const l = net.loss((t, k) => (second && k === 1 ? extra(t) : F.dropout(t, P)));
              l.backward();
              return l;
            });
          } catch (e) {
            msg = (e as Error).message;
          }
          expect(msg, what).toMatch(re);
          expect(msg).toContain(`${name === 'PUGD' ? 'PUGD' : name.startsWith('ASAM') ? 'SAM(AdamW)' : 'SAM(SGD)'}.step:`);
          expect(await Promise.all(net.params.map((p) => p.toArray())), `${what}: w restored exactly`).toEqual(w0);
          expect(passPolicy()).toEqual(DEFAULT_POLICY);
          opt.dispose();
          net.dispose();
        }
      });
    }

    it('randomnessOnPerturbedPass is checked', () => {
      const w = tensor([1, 2], [2], { requiresGrad: true });
      expect(() => new optim.PUGD([w], { randomnessOnPerturbedPass: 'same' as never })).toThrow("PUGD: randomnessOnPerturbedPass must be 'reuse' or 'fresh', got 'same'");
      expect(() => new optim.SAM([w], { randomnessOnPerturbedPass: true as never })).toThrow("SAM(SGD): randomnessOnPerturbedPass must be 'reuse' or 'fresh', got true");
      expect(new optim.PUGD([w]).randomnessOnPerturbedPass).toBe('reuse');
      expect(new optim.SAM([w], { randomnessOnPerturbedPass: 'fresh' }).randomnessOnPerturbedPass).toBe('fresh');
      w.dispose();
    });
  });
}
