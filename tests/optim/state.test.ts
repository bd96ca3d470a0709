// Optimizer and scheduler state round trips: train, save (state dict with its tensors turned into
// plain arrays and passed through JSON, as a checkpoint would), rebuild everything, load, train on.
// The resumed run must reproduce the uninterrupted run's per-step losses and final weights bit for
// bit. Also: loadStateDict refuses mismatched states with a message that says why.
import { describe, it, beforeAll, expect } from 'vitest';
import { optim, tensor, Tensor } from '../../engine/index.js';
import { testBackends, useBackend } from '../harness.js';
import { fixedBatch, tinyResBlock } from '../tiny_resblock.js';

type AnyOpt = optim.Optimizer<optim.Hyper>;

/** The state dict with every tensor read into a number[], through JSON. */
async function toJson(sd: optim.OptimizerStateDict): Promise<optim.OptimizerStateDict> {
  const state: Record<string, Record<string, number | number[]>> = {};
  for (const [k, entry] of Object.entries(sd.state)) {
    state[k] = {};
    for (const [name, v] of Object.entries(entry)) state[k][name] = v instanceof Tensor ? Array.from(await v.toArray()) : (v as number);
  }
  return JSON.parse(JSON.stringify({ ...sd, state }));
}

const makers: [string, (ps: Tensor[]) => AnyOpt][] = [
  ['PUGD', (ps) => new optim.PUGD(ps, { lr: 0.05 }) as unknown as AnyOpt],
  ['PUGD with groups and nesterov', (ps) => new optim.PUGD([{ params: ps.slice(0, 4) }, { params: ps.slice(4), weightDecay: 0, lr: 0.02 }], { lr: 0.05, nesterov: true }) as unknown as AnyOpt],
  ['SGD', (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }) as unknown as AnyOpt],
  ['Adam', (ps) => new optim.Adam(ps, { lr: 1e-2 }) as unknown as AnyOpt],
  ['AdamW', (ps) => new optim.AdamW(ps, { lr: 1e-2 }) as unknown as AnyOpt],
  ['SAM(SGD)', (ps) => new optim.SAM(ps, { lr: 0.05, momentum: 0.9 }) as unknown as AnyOpt],
  ['ASAM(AdamW)', (ps) => new optim.SAM(ps, { lr: 1e-2, adaptive: true, rho: 0.5, base: 'adamw' }) as unknown as AnyOpt],
  ['UGD', (ps) => new optim.UGD(ps, { lr: 0.05 }) as unknown as AnyOpt],
];

for (const backend of testBackends()) {
  describe(`optimizer state round trips on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    const b = fixedBatch(4, 3, 6, 6, 4);

    for (const [name, make] of makers) {
      it(`${name} + cosine with warm-up: resume after 3 of 7 steps reproduces losses and weights bit for bit`, async () => {
        const setup = () => {
          const net = tinyResBlock({ C: 6, classes: 4, seed: 12 });
          const opt = make(net.params);
          const sched = optim.lr_scheduler.linearWarmup(opt, new optim.lr_scheduler.CosineAnnealingLR(opt, { TMax: 5 }), { warmup: 2 });
          const x = tensor(b.x, b.shape);
          const y = tensor(b.labels, [b.labels.length], { dtype: 'i32' });
          const step = async () => {
            const l = await opt.step(() => {
              opt.zeroGrad();
              const loss = net.loss(x, y);
              loss.backward();
              return loss;
            });
            sched.step();
            return (l as Tensor).item();
          };
          const dispose = () => {
            opt.dispose();
            net.dispose();
            x.dispose();
            y.dispose();
          };
          return { net, opt, sched, step, dispose };
        };
        // Uninterrupted.
        const a = setup();
        const lossesA: number[] = [];
        for (let i = 0; i < 7; i++) lossesA.push(await a.step());
        const weightsA = await Promise.all(a.net.params.map((p) => p.toArray()));
        a.dispose();
        // Interrupted after 3 steps: save model, buffers, optimizer and scheduler as plain data.
        const b1 = setup();
        const lossesB: number[] = [];
        for (let i = 0; i < 3; i++) lossesB.push(await b1.step());
        const ckpt = {
          params: await Promise.all(b1.net.params.map(async (p) => Array.from(await p.toArray()))),
          buffers: await Promise.all(b1.net.buffers.map(async (t) => Array.from(await t.toArray()))),
          opt: await toJson(b1.opt.stateDict()),
          sched: JSON.parse(JSON.stringify(b1.sched.stateDict())),
        };
        b1.dispose();
        // A fresh process would start here.
        const c = setup();
        c.net.params.forEach((p, i) => p.assign(tensor(ckpt.params[i], [...p.shape])));
        c.net.buffers.forEach((t, i) => t.assign(tensor(ckpt.buffers[i], [...t.shape])));
        c.opt.loadStateDict(ckpt.opt);
        c.sched.loadStateDict(ckpt.sched);
        for (let i = 3; i < 7; i++) lossesB.push(await c.step());
        const weightsC = await Promise.all(c.net.params.map((p) => p.toArray()));
        c.dispose();
        expect(lossesB).toEqual(lossesA);
        weightsC.forEach((w, i) => expect(w, `parameter ${i}`).toEqual(weightsA[i]));
      });
    }

    it('loadStateDict refuses mismatched states and says why', async () => {
      const w = tensor([1, 2], [2], { requiresGrad: true });
      const v = tensor([1, 2, 3], [3], { requiresGrad: true });
      const pugd = new optim.PUGD([w, v]);
      await pugd.step(() => {
        pugd.zeroGrad();
        const l = w.square().sum().add(v.square().sum());
        l.backward();
        return l;
      });
      const sd = await toJson(pugd.stateDict());
      expect(sd.optimizer).toBe('PUGD');
      expect(sd.paramGroups[0]).toEqual({ lr: 0.1, momentum: 0.9, weightDecay: 5e-4, dampening: 0, nesterov: false, params: [0, 1] });
      expect(Object.keys(sd.state)).toEqual(['0', '1']);
      expect(() => new optim.SGD([w, v]).loadStateDict(sd)).toThrow(/SGD.loadStateDict: the state dict is from 'PUGD', not SGD/);
      expect(() => new optim.PUGD([{ params: [w] }, { params: [v] }]).loadStateDict(sd)).toThrow(/has 1 param groups, this optimizer has 2/);
      expect(() => new optim.PUGD([v, w]).loadStateDict(sd)).toThrow(/state '0'.momentumBuffer has 2 values; parameter 0 \(f32 \[3\]\) has 3/);
      expect(() => new optim.PUGD([w, v]).loadStateDict({ ...sd, state: { 0: { expAvg: [1, 2] } } })).toThrow(/unknown option 'expAvg'/);
      expect(() => new optim.PUGD([w, v]).loadStateDict({ ...sd, paramGroups: [{ ...sd.paramGroups[0], lr: -1 }] })).toThrow(/lr must be in \[0, ∞\), got -1/);
      // A good load copies values: the source can go away.
      const other = new optim.PUGD([w, v]);
      other.loadStateDict(pugd.stateDict());
      const before = await (other.stateDict().state['1'].momentumBuffer as Tensor).toArray();
      pugd.dispose();
      expect(await (other.stateDict().state['1'].momentumBuffer as Tensor).toArray()).toEqual(before);
      other.dispose();
      w.dispose();
      v.dispose();
    });
  });
}
