// LR schedules: the reference's per-epoch cosine (SPEC TV7, values in vectors.json), per-step cosine,
// StepLR, MultiStepLR, LinearLR, SequentialLR, linear warm-up, per-group base LRs, and state round
// trips through JSON. Pure host arithmetic: compared in float64 (1e-15 relative).
import { describe, it, expect, beforeAll } from 'vitest';
import { optim, tensor } from '../../engine/index.js';
import { expectClose, testBackends, useBackend } from '../harness.js';
import { loadVectors } from './problems.js';

const vectors = loadVectors();
const { CosineAnnealingLR, StepLR, MultiStepLR, LinearLR, SequentialLR, linearWarmup } = optim.lr_scheduler;

function makeOpt(lrs: number[] = [0.1]) {
  const ps = lrs.map(() => tensor([1], [1], { requiresGrad: true }));
  const opt = new optim.SGD(lrs.map((lr, i) => ({ params: [ps[i]], lr })));
  return { opt, dispose: () => ps.forEach((p) => p.dispose()) };
}

/** lr of group 0 at t = 0 … n−1, stepping after each reading (the reference: step after each epoch). */
function lrs(sched: { getLr(): number[]; step(): void }, n: number, group = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(sched.getLr()[group]);
    sched.step();
  }
  return out;
}

describe('LR schedules', () => {
  beforeAll(() => useBackend(testBackends()[0])); // the schedules are host arithmetic; the optimizers need a backend
  it('cosine per epoch reproduces SPEC TV7 (T = 10, and T = 200 epochs 0–4, 197–199)', () => {
    const a = makeOpt();
    expectClose('cosine T=10', lrs(new CosineAnnealingLR(a.opt, { TMax: 10 }), 10), vectors.TV7_cosine_lr_T10 as number[], { atol: 0, rtol: 1e-15 });
    const b = makeOpt();
    const all = lrs(new CosineAnnealingLR(b.opt, { TMax: 200 }), 200);
    expectClose('cosine T=200', [...all.slice(0, 5), ...all.slice(197)], vectors.TV7_cosine_lr_T200_first5_last3 as number[], { atol: 0, rtol: 1e-12 });
    a.dispose();
    b.dispose();
  });

  it('cosine per step: TMax in steps, with etaMin, every group from its own base lr', () => {
    const { opt, dispose } = makeOpt([0.1, 0.02]);
    const s = new CosineAnnealingLR(opt, { TMax: 7, etaMin: 1e-3 });
    const f = (base: number, t: number) => 1e-3 + ((base - 1e-3) * (1 + Math.cos((Math.PI * t) / 7))) / 2;
    for (let t = 0; t <= 7; t++) {
      expectClose(`cosine step ${t}`, s.getLr(), [f(0.1, t), f(0.02, t)], { atol: 0, rtol: 1e-15 });
      expect(opt.paramGroups[1].lr).toBe(s.getLr()[1]); // the optimizer's groups carry the lr
      s.step();
    }
    dispose();
  });

  it('StepLR, MultiStepLR and LinearLR by hand', () => {
    const a = makeOpt();
    expectClose('StepLR', lrs(new StepLR(a.opt, { stepSize: 3, gamma: 0.5 }), 8), [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025], { atol: 0, rtol: 1e-15 });
    const b = makeOpt();
    expectClose('MultiStepLR', lrs(new MultiStepLR(b.opt, { milestones: [2, 5], gamma: 0.1 }), 7), [0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001], { atol: 0, rtol: 1e-14 });
    const c = makeOpt();
    expectClose('LinearLR', lrs(new LinearLR(c.opt, { startFactor: 0.25, endFactor: 1, totalIters: 3 }), 5), [0.025, 0.05, 0.075, 0.1, 0.1], { atol: 0, rtol: 1e-15 });
    for (const x of [a, b, c]) x.dispose();
  });

  it('linear warm-up composes with cosine, step and multistep (each from its own t = 0)', () => {
    const cos = makeOpt();
    const w = linearWarmup(cos.opt, new CosineAnnealingLR(cos.opt, { TMax: 4 }), { warmup: 2, startFactor: 0.1 });
    const c4 = (t: number) => (0.1 * (1 + Math.cos((Math.PI * t) / 4))) / 2;
    expectClose('warm-up + cosine', lrs(w, 6), [0.01, 0.055, c4(0), c4(1), c4(2), c4(3)], { atol: 0, rtol: 1e-15 });
    const st = makeOpt();
    const w2 = linearWarmup(st.opt, new StepLR(st.opt, { stepSize: 2, gamma: 0.1 }), { warmup: 3 });
    expectClose('warm-up + step', lrs(w2, 7), [0.001, 0.001 + 0.099 / 3, 0.001 + (2 * 0.099) / 3, 0.1, 0.1, 0.01, 0.01], { atol: 0, rtol: 1e-14 });
    const ms = makeOpt();
    const w3 = new SequentialLR(ms.opt, { schedulers: [new LinearLR(ms.opt, { startFactor: 0.5, totalIters: 1 }), new MultiStepLR(ms.opt, { milestones: [1] })], milestones: [1] });
    expectClose('warm-up + multistep', lrs(w3, 3), [0.05, 0.1, 0.01], { atol: 0, rtol: 1e-14 });
    for (const x of [cos, st, ms]) x.dispose();
  });

  it('state round trip through JSON continues the schedule bit for bit', () => {
    const make = (o: optim.SGD) => linearWarmup(o, new CosineAnnealingLR(o, { TMax: 20 }), { warmup: 3 });
    const a = makeOpt([0.1, 0.05]);
    const sa = make(a.opt);
    const reference = lrs(sa, 12, 1);
    const b = makeOpt([0.1, 0.05]);
    const sb = make(b.opt);
    lrs(sb, 5, 1);
    const saved = JSON.parse(JSON.stringify(sb.stateDict()));
    const c = makeOpt([0.1, 0.05]);
    const sc = make(c.opt);
    sc.loadStateDict(saved);
    expect(sc.lastEpoch).toBe(5);
    expect(lrs(sc, 7, 1)).toEqual(reference.slice(5));
    // A schedule saved with another configuration is refused.
    const d = makeOpt([0.1, 0.05]);
    const other = new CosineAnnealingLR(d.opt, { TMax: 30 });
    expect(() => other.loadStateDict(new CosineAnnealingLR(a.opt, { TMax: 20 }).stateDict())).toThrow(/saved with \{"TMax":20,"etaMin":0\}, this scheduler has \{"TMax":30/);
    expect(() => other.loadStateDict(new StepLR(a.opt, { stepSize: 2 }).stateDict())).toThrow(/the state is from a StepLR, not a CosineAnnealingLR/);
    for (const x of [a, b, c, d]) x.dispose();
  });
});
