// The per-step diagnostics of `pugd train --log-steps` (cli/step_probe.ts): ‖Δw‖, ‖g‖, ‖ε‖ and
// cos(g1, g2), measured on the device for SGD, PUGD and SAM on a tiny ResNet, against float64
// references computed here from the weights and gradients read back at every point of the step, and
// against what each optimizer's definition fixes (PUGD: ‖ε‖ = radius 1; SAM: ‖ε‖ = ρ; SGD's first
// step: ‖Δw‖ = lr·‖g + λw‖). Then through the training loop: steps.jsonl carries them and curves.svg
// gains the update-norm panel.
import { describe, it, beforeAll, expect } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, memory, models, optim, type Tensor } from '../../index.js';
import { crossEntropy } from '../../engine/ops/softmax_ce.js';
import { StepProbe } from '../../cli/step_probe.js';
import { train } from '../../cli/trainer.js';
import { FileOutput } from '../../cli/outputs.js';
import { testBackends, useBackend } from '../harness.js';
import { BlobLoader, constantLr } from './loop_fixtures.js';

const model = (seed = 3) => models.createModel('resnet20', { numClasses: 2, inChannels: 1, imageSize: 6, width: 2, generator: new Generator(seed) });
const readAll = (ts: readonly Tensor[]) => Promise.all(ts.map((t) => t.toArray()));

function sq(a: Float32Array[], b?: Float32Array[]): number {
  let s = 0;
  a.forEach((x, k) => x.forEach((v, i) => { const d = b ? v - b[k][i] : v; s += d * d; }));
  return s;
}
function dot(a: Float32Array[], b: Float32Array[]): number {
  let s = 0;
  a.forEach((x, k) => x.forEach((v, i) => { s += v * b[k][i]; }));
  return s;
}
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

const LR = 0.1;
const WD = 5e-4;
const make = {
  sgd: (p: Tensor[]) => new optim.SGD(p, { lr: LR, momentum: 0.9, weightDecay: WD }),
  pugd: (p: Tensor[]) => new optim.PUGD(p, { lr: LR, momentum: 0.9, weightDecay: WD }),
  sam: (p: Tensor[]) => new optim.SAM(p, { lr: LR, momentum: 0.9, weightDecay: WD, rho: 0.05 }),
};

for (const backend of testBackends()) {
  describe(`per-step diagnostics on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    for (const name of ['sgd', 'pugd', 'sam'] as const) {
      it(`${name}: ‖Δw‖, ‖g‖, ‖ε‖, cos(g1, g2) match float64 references over two steps`, async () => {
        const before = memory();
        const m = model();
        const params = m.parameters();
        const opt = make[name](params);
        const twoPass = name !== 'sgd';
        const probe = new StepProbe(params, twoPass);
        const loader = new BlobLoader(16, 8, 5);
        let stepNo = 0;
        for await (const { x, y } of loader.epochBatches()) {
          const w0 = await readAll(params);
          const grads: Float32Array[][] = [];
          let wPass2: Float32Array[] | null = null;
          probe.begin();
          const loss = await opt.step(async () => {
            opt.zeroGrad();
            const l = crossEntropy(m.forward(x), y);
            l.backward();
            probe.afterBackward();
            grads.push(await readAll(params.map((p) => p.grad!)));
            if (grads.length === 2) wPass2 = await readAll(params);
            return l;
          });
          const packed = probe.end(loss!)!;
          const { loss: lossRead, stats: got } = await probe.read(packed);
          packed.dispose();
          expect(lossRead).toBe(await loss!.item());
          x.dispose();
          y.dispose();
          const w1 = await readAll(params);
          expect(grads.length).toBe(twoPass ? 2 : 1);

          // float64 references from the values read back
          const dw = Math.sqrt(sq(w1, w0));
          const g = Math.sqrt(sq(grads[0]));
          expect(rel(got.dw, dw), `‖Δw‖ ${got.dw} vs ${dw}`).toBeLessThan(2e-5);
          expect(rel(got.g, g), `‖g‖ ${got.g} vs ${g}`).toBeLessThan(2e-5);
          if (twoPass) {
            const eps = Math.sqrt(sq(wPass2!, w0));
            const cos = dot(grads[0], grads[1]) / (g * Math.sqrt(sq(grads[1])));
            expect(rel(got.eps!, eps), `‖ε‖ ${got.eps} vs ${eps}`).toBeLessThan(2e-5);
            expect(Math.abs(got.cos! - cos), `cos ${got.cos} vs ${cos}`).toBeLessThan(2e-5);
            expect(Math.abs(cos)).toBeLessThanOrEqual(1);
            // The definitions: PUGD's ‖ε‖ is its radius (1), SAM's is ρ (0.05).
            expect(rel(got.eps!, name === 'pugd' ? 1 : 0.05)).toBeLessThan(1e-3);
          } else {
            expect(got.eps).toBeNull();
            expect(got.cos).toBeNull();
          }
          if (name === 'sgd' && stepNo === 0) {
            // First momentum step: buf = d = g + λw, Δw = −lr·d.
            let s = 0;
            grads[0].forEach((gk, k) => gk.forEach((v, i) => { const d = v + WD * w0[k][i]; s += d * d; }));
            expect(rel(got.dw, LR * Math.sqrt(s))).toBeLessThan(1e-4);
          }
          stepNo++;
        }
        expect(stepNo).toBe(2);
        probe.dispose();
        opt.dispose();
        m.dispose();
        expect(memory().liveTensors).toBe(before.liveTensors);
        expect(memory().liveBytes).toBe(before.liveBytes);
      });
    }

    it('the training loop reads them with the loss (no extra readback), writes them to steps.jsonl; curves.svg gains the update-norm panel', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pugd-probe-'));
      const m = model();
      const params = m.parameters();
      const inner = new optim.PUGD(params, { lr: LR, momentum: 0.9, weightDecay: WD });
      const opt = {
        step: async (cl: () => Tensor) => { await inner.step(() => { inner.zeroGrad(); return cl(); }); },
        setLr: (lr: number) => { for (const g of inner.paramGroups) g.lr = lr; },
        zeroGrad: () => inner.zeroGrad(),
        stateDict: () => inner.stateDict(),
        loadStateDict: () => {},
      };
      const probe = new StepProbe(params, true);
      const output = new FileOutput({ dir, model: m, title: 't', config: {}, log: () => {}, logSteps: true, scheduler: () => ({}) });
      const losses: number[][] = [[], []];
      const readbacks: number[] = [];
      // The same 6 steps without and with the probe: the same losses, and not one readback more.
      for (const [k, withProbe] of [false, true].entries()) {
        const mk = models.createModel('resnet20', { numClasses: 2, inChannels: 1, imageSize: 6, width: 2, generator: new Generator(3) });
        const o2 = new optim.PUGD(mk.parameters(), { lr: LR, momentum: 0.9, weightDecay: WD });
        const p2 = withProbe ? new StepProbe(mk.parameters(), true) : undefined;
        const r0 = memory().readbacks;
        await train({
          model: mk, optimizer: { ...opt, step: async (cl: () => Tensor) => { await o2.step(() => { o2.zeroGrad(); return cl(); }); } },
          schedule: constantLr(LR), train: new BlobLoader(24, 8, 2), epochs: 2,
          output: { epochDone: () => {}, stepDone: (_s, _e, l) => { losses[k].push(l); }, log: () => {} }, readEveryStep: true, probe: p2,
        });
        readbacks.push(memory().readbacks - r0);
        p2?.dispose();
        o2.dispose();
        mk.dispose();
      }
      expect(losses[1]).toEqual(losses[0]);
      expect(losses[0]).toHaveLength(6);
      expect(readbacks[1]).toBe(readbacks[0]);
      await train({ model: m, optimizer: opt, schedule: constantLr(LR), train: new BlobLoader(24, 8, 2), epochs: 2, output: { ...output, epochDone: (r, h) => output.epochDone(r, h), stepDone: (...a) => output.stepDone(...a), log: () => {} }, readEveryStep: true, probe });
      const steps = readFileSync(join(dir, 'steps.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
      for (const s of steps) {
        expect(s.update_norm).toBeGreaterThan(0);
        expect(s.grad_norm).toBeGreaterThan(0);
        expect(Math.abs(s.eps_norm - 1)).toBeLessThan(1e-3);
        expect(Math.abs(s.grad_cos)).toBeLessThanOrEqual(1);
      }
      const svg = readFileSync(join(dir, 'curves.svg'), 'utf8');
      expect(svg).toContain('Update norm (max');
      expect(svg).toContain('>step</text>');
      // loss (train), accuracy (train) and the ‖Δw‖ line: no test set here
      expect(svg.match(/<path /g)!.length).toBe(3);
      probe.dispose();
      inner.dispose();
      m.dispose();
    });
  });
}
