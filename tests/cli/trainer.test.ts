// The training loop (cli/trainer.ts) driven by test fixtures: it learns, reports what it measured,
// feeds two-pass optimizers, stops on a NaN loss without checkpointing the diverged model, frees
// everything it allocates, and a run resumed from a mid-epoch checkpoint takes the same steps as an
// uninterrupted one.
import { describe, it, beforeAll, expect } from 'vitest';
import { Generator, memory, models, type Tensor } from '../../index.js';
import { train, NanLossError, type CheckpointState, type EpochRecord, type RunOutput } from '../../cli/trainer.js';
import { testBackends, useBackend } from '../harness.js';
import { BlobLoader, PlainSgd, constantLr } from './loop_fixtures.js';

function collector() {
  const epochs: EpochRecord[] = [];
  const steps: [number, number][] = [];
  const checkpoints: CheckpointState[] = [];
  const out: RunOutput = {
    epochDone: (r) => { epochs.push(r); },
    stepDone: (s, _e, l) => { steps.push([s, l]); },
    checkpoint: async (c) => { checkpoints.push(structuredClone(c)); return `ckpt@${c.step}`; },
    log: () => {},
  };
  return { epochs, steps, checkpoints, out };
}

const model = (seed = 1) => models.createModel('resnet20', { numClasses: 2, inChannels: 1, imageSize: 6, width: 2, generator: new Generator(seed) });

for (const backend of testBackends()) {
  describe(`training loop on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('learns separable data, reports per-epoch figures and leaks nothing', async () => {
      const before = memory();
      const m = model();
      const c = collector();
      const loader = new BlobLoader(64, 16);
      const r = await train({ model: m, optimizer: new PlainSgd(m.parameters()), schedule: constantLr(0.1), train: loader, test: new BlobLoader(32, 16, 2, { shuffle: false }), epochs: 4, output: c.out, readEveryStep: true });
      expect(r.steps).toBe(16);
      expect(c.epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
      expect(c.epochs.map((e) => e.step)).toEqual([4, 8, 12, 16]);
      for (const e of c.epochs) {
        expect(e.train_images).toBe(64);
        expect(e.test_acc).toBeGreaterThanOrEqual(0);
        expect(e.images_per_s).toBeGreaterThan(0);
      }
      // The epoch's loss is the mean of its per-step (first-pass) losses, weighted by batch size.
      const mean1 = c.steps.slice(0, 4).reduce((s, [, l]) => s + l, 0) / 4;
      expect(c.epochs[0].train_loss).toBeCloseTo(mean1, 5);
      expect(c.epochs[3].train_loss).toBeLessThan(c.epochs[0].train_loss);
      expect(c.epochs[3].test_acc!).toBeGreaterThan(0.8);
      expect(c.checkpoints.map((k) => [k.epoch, k.batchInEpoch])).toEqual([[1, 0], [2, 0], [3, 0], [4, 0]]);
      m.dispose();
      expect(memory().liveTensors).toBe(before.liveTensors);
      expect(memory().liveBytes).toBe(before.liveBytes);
    });

    it('calls a two-pass optimizer\'s closure twice and reports the first pass', async () => {
      const m = model();
      const c = collector();
      let calls = 0;
      const opt = new PlainSgd(m.parameters(), true);
      const wrapped = { ...opt, step: async (cl: () => Tensor) => opt.step(() => { calls++; return cl(); }), setLr: (l: number) => opt.setLr(l), zeroGrad: () => opt.zeroGrad(), stateDict: () => opt.stateDict(), loadStateDict: (s: unknown) => opt.loadStateDict(s) };
      await train({ model: m, optimizer: wrapped, schedule: constantLr(0.05), train: new BlobLoader(32, 16), epochs: 1, output: c.out, readEveryStep: true });
      expect(calls).toBe(4);
      expect(c.steps.length).toBe(2);
      m.dispose();
    });

    it('a NaN loss stops training with a message and is never checkpointed', async () => {
      const m = model();
      const c = collector();
      const loader = new BlobLoader(64, 16, 1, { shuffle: false, poison: 40 }); // NaN in batch 3 of epoch 1
      const err = await train({ model: m, optimizer: new PlainSgd(m.parameters()), schedule: constantLr(0.1), train: loader, epochs: 2, output: c.out, checkpointEverySteps: 1, readEveryStep: true }).catch((e) => e);
      expect(err).toBeInstanceOf(NanLossError);
      // ckpt@2 holds the weights that gave the NaN loss of step 3: the sane one is ckpt@1.
      expect(String(err.message)).toMatch(/diverged in epoch 1 between step 2 and step 3: the training loss became NaN.*the last checkpoint whose loss was sane is ckpt@1/);
      expect(err.lastGood).toBe('ckpt@1');
      expect(c.checkpoints.map((k) => k.step)).toEqual([1, 2]);
      m.dispose();
    });

    it('a loss far above its running level stops training before it is NaN, naming the newest checkpoint whose weights trained sanely', async () => {
      const m = model(3);
      const c = collector();
      const discarded: string[][] = [];
      // Sane for 4 steps, then a learning rate that blows the loss up.
      const schedule = { lrAt: (_e: number, b: number) => (b < 4 ? 0.05 : 40), describe: () => ({}) };
      const err = await train({
        model: m, optimizer: new PlainSgd(m.parameters()), schedule, train: new BlobLoader(160, 16, 1, { shuffle: false }), epochs: 1,
        output: { ...c.out, discard: (p) => { discarded.push(p); return 'elsewhere'; } }, checkpointEverySteps: 1, readEveryStep: true, guard: { maxLossRatio: 3, maxWeightNorm: 0 },
      }).catch((e) => e);
      expect(err).toBeInstanceOf(NanLossError);
      // The float64 reference of the rule on the per-step losses the loop reported.
      const losses = c.steps.map(([, l]) => l);
      let level = losses[0];
      let at = -1;
      for (let i = 1; i < losses.length; i++) {
        if (losses[i] > 3 * Math.max(level, 1)) { at = i + 1; break; }
        level = 0.9 * level + 0.1 * losses[i];
      }
      expect(at).toBeGreaterThan(5);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(err.step).toBe(at);
      expect(c.steps.length).toBe(at);
      expect(err.message).toContain(`the loss rose to ${losses[at - 1].toPrecision(3)}, more than 3× its running level ${level.toPrecision(3)}`);
      expect(err.lastGood).toBe(`ckpt@${at - 2}`);
      expect(discarded).toEqual([[`ckpt@${at - 1}`]]);
      expect(err.message).toContain(`the last checkpoint whose loss was sane is ckpt@${at - 2}; ckpt@${at - 1}, written from weights that did not train sanely, was moved to elsewhere`);
      m.dispose();
    });

    it('a checkpoint written from the step that went wrong is discarded even when no sane one exists', async () => {
      const m = model(3);
      const c = collector();
      const discarded: string[][] = [];
      // The first update is huge: step 1's checkpoint holds the weights that give step 2 its loss.
      const schedule = { lrAt: (_e: number, b: number) => (b === 0 ? 1e4 : 0.05), describe: () => ({}) };
      const err = await train({
        model: m, optimizer: new PlainSgd(m.parameters()), schedule, train: new BlobLoader(64, 16, 1, { shuffle: false }), epochs: 1,
        output: { ...c.out, discard: (p) => { discarded.push(p); return 'elsewhere'; } }, checkpointEverySteps: 1, readEveryStep: true, guard: { maxLossRatio: 3, maxWeightNorm: 0 },
      }).catch((e) => e);
      expect(err).toBeInstanceOf(NanLossError);
      expect(err.step).toBe(2);
      expect(err.lastGood).toBe(null);
      expect(discarded).toEqual([['ckpt@1']]);
      expect(err.message).toContain('no sane checkpoint was written before; ckpt@1, written from weights that did not train sanely, was moved to elsewhere');
      m.dispose();
    });

    it('weights beyond the norm bound stop training at the step that took them there', async () => {
      const m = model(4);
      const norm = async () => { let s = 0; for (const p of m.parameters()) for (const v of await p.toArray()) s += v * v; return Math.sqrt(s); };
      const n0 = await norm();
      const c = collector();
      const err = await train({ model: m, optimizer: new PlainSgd(m.parameters()), schedule: constantLr(0.5), train: new BlobLoader(64, 16), epochs: 1, output: c.out, readEveryStep: true, guard: { maxLossRatio: 0, maxWeightNorm: n0 * 1.0001 } }).catch((e) => e);
      expect(err).toBeInstanceOf(NanLossError);
      const n1 = await norm();
      expect(n1).toBeGreaterThan(n0 * 1.0001);
      expect(err.step).toBe(1);
      expect(err.message).toContain(`the weights' L2 norm reached ${n1.toPrecision(3)}, above the bound ${n0 * 1.0001}`);
      expect(err.lastGood).toBe(null);
      expect(c.checkpoints.length).toBe(0);
      m.dispose();
    });

    it('resuming from a mid-epoch checkpoint reproduces the uninterrupted run step for step', async () => {
      const run = async (stopAt: number | null, resume?: { ck: CheckpointState; weights: Record<string, Float32Array> }) => {
        const m = model(7);
        const c = collector();
        const loader = new BlobLoader(80, 16, 3);
        const opt = new PlainSgd(m.parameters());
        let weightsAt: Record<string, Float32Array> | null = null;
        if (resume) m.loadStateDict(resume.weights);
        let n = 0;
        const r = await train({
          model: m, optimizer: opt, schedule: { lrAt: (e, b) => 0.1 / (1 + e + b / 10), describe: () => ({}) }, train: loader, epochs: 3,
          output: { ...c.out, checkpoint: async (k) => { c.checkpoints.push(structuredClone(k)); if (k.step === stopAt) { weightsAt = {}; for (const [name, t] of Object.entries(m.stateDict())) weightsAt[name] = await t.toArray(); } return `ckpt@${k.step}`; } },
          checkpointEverySteps: 1,
          readEveryStep: true,
          shouldStop: () => stopAt !== null && ++n > stopAt,
          resume: resume && { ...resume.ck, where: 'mem', partial: resume.ck.partial },
        });
        m.dispose();
        return { r, c, weightsAt: weightsAt as Record<string, Float32Array> | null };
      };
      const full = await run(null);
      expect(full.c.steps.length).toBe(15);
      const first = await run(7); // 7 steps: epoch 2, batch 2 of 5
      const ck = first.c.checkpoints.find((k) => k.step === 7)!;
      expect([ck.epoch, ck.batchInEpoch]).toEqual([1, 2]);
      const second = await run(null, { ck, weights: first.weightsAt! });
      const resumed = [...first.c.steps.slice(0, 7), ...second.c.steps];
      expect(resumed.map(([s]) => s)).toEqual(full.c.steps.map(([s]) => s));
      expect(resumed.map(([, l]) => l)).toEqual(full.c.steps.map(([, l]) => l));
      // The interrupted epoch's figures include the steps from before the interruption.
      expect(second.c.epochs[0].train_loss).toBe(full.c.epochs[1].train_loss);
      expect(second.c.epochs.map((e) => e.epoch)).toEqual([2, 3]);
    });
  });
}
