// `pugd analyze --checkpoint CKPT`: what the paper's flatness claims can be checked on, for one trained
// model, on a fixed data subset (the first --limit images of the training split, class-balanced, no
// augmentation; or of the test split): sharpness in the ball of radius ρ (PUGD's ε, SAM's ε, the best
// of K filter-normalised random directions, projected gradient ascent), 1-D and 2-D loss landscapes
// along filter-normalised random directions (seeded), and the top Hessian eigenvalue by power
// iteration on finite-difference Hessian-vector products. The maths is cli/analysis.ts, on a plain
// objective; this file makes the model over the subset into one (ModelObjective) and writes
// analysis.json, landscape-1d.{json,svg}, landscape-2d.{json,svg} and hessian.svg.
//
// BatchNorm: eval mode by default (the running statistics of the checkpoint, as at test time); with
// --bn train every evaluation normalises with the statistics of its batch (and updates the running
// statistics of the in-memory copy, which is never saved). The loss is the mean cross-entropy over
// the subset (no label smoothing), summed batch by batch in a fixed order.

import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { UsageError, type Parsed } from './args.js';
import { openCheckpointArgs } from './eval.js';
import { openData } from './components.js';
import type { Batch } from './trainer.js';
import type { RunConfig } from './train.js';
import { createModel } from '../models/registry.js';
import { Generator } from '../engine/random.js';
import { loadSafetensors } from '../engine/io/state.js';
import type { Module } from '../engine/nn/module.js';
import { keep, tidy, type Tensor } from '../engine/tensor.js';
import { tensor } from '../engine/create.js';
import { noGrad } from '../engine/autograd.js';
import { crossEntropy } from '../engine/ops/softmax_ce.js';
import { landscape1d, landscape2d, sharpness, topHessianEigenvalue, type Objective, type ParamBlock } from './analysis.js';
import { contourSvg, lineChartSvg } from './chart.js';


/** A model on a fixed list of batches as an Objective: mean cross-entropy and its gradient. */
export class ModelObjective implements Objective {
  readonly dim: number;
  readonly blocks: ParamBlock[];
  private readonly params: Tensor[];
  readonly images: number;
  evaluations = 0;

  constructor(private readonly model: Module, private readonly batches: readonly Batch[], readonly bn: 'eval' | 'train') {
    const named = model.namedParameters();
    this.params = named.map(([, p]) => p);
    let off = 0;
    this.blocks = named.map(([name, p]) => {
      const b: ParamBlock = { name, offset: off, size: p.size, filters: p.rank >= 2 ? p.shape[0] : 1, skip: p.rank <= 1 };
      off += p.size;
      return b;
    });
    this.dim = off;
    this.images = batches.reduce((s, b) => s + b.y.shape[0], 0);
  }

  /** The model's current weights as one float64 vector. */
  async weights(): Promise<Float64Array> {
    const parts = await Promise.all(this.params.map((p) => p.toArray()));
    const w = new Float64Array(this.dim);
    parts.forEach((a, k) => w.set(a, this.blocks[k].offset));
    return w;
  }

  private setWeights(w: Float64Array): void {
    if (w.length !== this.dim) throw new Error(`ModelObjective: a vector of ${w.length} values for ${this.dim} parameters`);
    this.params.forEach((p, k) => {
      const b = this.blocks[k];
      const t = tensor(Float32Array.from(w.subarray(b.offset, b.offset + b.size)), p.shape);
      p.assign(t);
      t.dispose();
    });
    if (this.bn === 'eval') this.model.eval();
    else this.model.train();
    this.evaluations++;
  }

  async loss(w: Float64Array): Promise<number> {
    this.setWeights(w);
    let total = keep(noGrad(() => tensor([0], [1])));
    for (const { x, y } of this.batches) {
      const next = keep(noGrad(() => tidy(() => total.add(crossEntropy(this.model.forward(x), y, { reduction: 'sum' })))));
      total.dispose();
      total = next;
    }
    const v = await total.item();
    total.dispose();
    return v / this.images;
  }

  async lossGrad(w: Float64Array): Promise<{ loss: number; grad: Float64Array }> {
    this.setWeights(w);
    this.model.zeroGrad();
    let total = keep(noGrad(() => tensor([0], [1])));
    for (const { x, y } of this.batches) {
      const l = tidy(() => crossEntropy(this.model.forward(x), y, { reduction: 'sum' }).mul(1 / this.images));
      l.backward();
      const next = keep(noGrad(() => total.add(l)));
      l.dispose();
      total.dispose();
      total = next;
    }
    const [lv, ...gs] = await Promise.all([total.item(), ...this.params.map((p) => (p.grad ? p.grad.toArray() : Promise.resolve(new Float32Array(p.size))))]);
    total.dispose();
    this.model.zeroGrad();
    const grad = new Float64Array(this.dim);
    gs.forEach((a, k) => grad.set(a as Float32Array, this.blocks[k].offset));
    return { loss: lv as number, grad };
  }
}

function parseRadii(s: string): number[] {
  const r = s.split(',').map((t) => t.trim()).filter(Boolean).map(Number);
  if (r.length === 0 || r.some((v) => !Number.isFinite(v) || v <= 0)) throw new UsageError(`--rho: expected positive numbers separated by commas, got '${s}'`);
  return r;
}

const r4 = (v: number) => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(3));

export async function runAnalyze(a: Parsed): Promise<number> {
  const v = a.values;
  const json = Boolean(v.json);
  const radii = parseRadii(String(v.rho));
  const say = json ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
  const { weights, backend, trained, dataset, data } = await openCheckpointArgs(a, 'analyze');
  const split = v.split as 'train' | 'test';
  const limit = Number(v.limit);
  const config: RunConfig = {
    ...trained, dataset, data, epochs: 1, augment: false, batchSize: Number(v['batch-size']),
    limitTrain: split === 'train' ? limit : 1, limitTest: split === 'test' ? limit : 1,
  };
  const d = await openData(config, backend, { testOnly: split === 'test' });
  const loader = split === 'train' ? d.train : d.test;
  if (!loader) {
    await d.close();
    throw new UsageError(`--split ${split}: ${dataset} at ${data} has no ${split} split`);
  }
  const batches: Batch[] = [];
  const model = createModel(trained.model, { numClasses: d.numClasses, inChannels: d.imageShape[0], imageSize: d.imageShape[1], width: trained.width, generator: new Generator(0) });
  try {
    try {
      for await (const b of loader.epochBatches()) batches.push({ x: keep(b.x), y: keep(b.y) });
    } finally {
      await d.close();
    }
    loadSafetensors(model, weights.bytes, { source: weights.source });
    const bn = v.bn as 'eval' | 'train';
    const obj = new ModelObjective(model, batches, bn);
    const w0 = await obj.weights();
    const seed = Number(v.seed);
    // The run folder: above checkpoints/ for a checkpoint, the folder of a run's final model.safetensors.
    const runDir = basename(dirname(weights.path)) === 'checkpoints' ? resolve(weights.path, '../..') : dirname(weights.path);
    const outDir = resolve(String(v.out ?? join(runDir, 'analysis')));
    mkdirSync(outDir, { recursive: true });
    const what = `${trained.model} ${weights.epoch !== null ? `after epoch ${weights.epoch} (step ${weights.step}, ${trained.optimizer})` : `final weights (${trained.optimizer})`} on ${obj.images} ${dataset} ${split} images, BatchNorm ${bn}`;
    say(`analyze: ${what}; ${obj.dim.toLocaleString('en-US')} parameters; ${backend.description}`);
    const t0 = performance.now();
    const at = await obj.lossGrad(w0);
    say(`  loss at w: ${r4(at.loss)}, ‖∇L‖ ${r4(Math.sqrt(at.grad.reduce((s, g) => s + g * g, 0)))}`);

    const sharp = [];
    for (const rho of radii) {
      const r = await sharpness(obj, w0, { rho, k: Number(v.directions), steps: Number(v['ascent-steps']), stepFraction: 0.5, seed, at });
      sharp.push(r);
      say(`  sharpness ρ=${rho}: PUGD ε ${r4(r.pugd.increase)} · SAM ε ${r4(r.sam.increase)} · ${r.random ? `best of ${r.random.k} random ${r4(r.random.increase)} · ` : ''}ascent (${r.ascent.steps} steps) ${r4(r.ascent.increase)}`);
    }
    const iters = Number(v['hessian-iterations']);
    const hess = iters > 0 ? await topHessianEigenvalue(obj, w0, { iterations: iters, h: Number(v['hvp-step']), seed, onIteration: (i, l) => { if (i % 5 === 0 || i === iters) say(`  Hessian power iteration ${i}/${iters}: λ ≈ ${r4(l)}`); } }) : null;
    const range = Number(v.range);
    const l1 = await landscape1d(obj, w0, { seed, range, points: Number(v.points) });
    say(`  1-D landscape: ${l1.losses.length} points, min ${r4(Math.min(...l1.losses))}, max ${r4(Math.max(...l1.losses))}`);
    const gridN = Number(v.grid);
    const l2 = await landscape2d(obj, w0, { seed: seed + 1, range, points: gridN, onPoint: (i) => { if ((i + 1) % gridN === 0) say(`  2-D landscape: ${i + 1}/${gridN * gridN}`); } });
    const seconds = (performance.now() - t0) / 1000;

    const strip = <T extends object>(o: T, keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
    const land1 = strip(l1, ['direction']);
    const land2 = strip(l2, ['directions']);
    const result = {
      checkpoint: weights.path, model: trained.model, optimizer: trained.optimizer, epoch: weights.epoch, step: weights.step,
      dataset, split, images: obj.images, bn, seed, parameters: obj.dim, backend: backend.name,
      loss: at.loss,
      directions: 'Gaussian, each filter (output-channel row of a weight with ≥ 2 dimensions) rescaled to the norm of the same filter of w; biases and BatchNorm parameters 0 (Li et al. 2018, "ignore biasbn"); for sharpness each direction is then scaled to ‖ε‖ = ρ',
      sharpness: sharp.map((r) => ({ ...r, ascent: { ...r.ascent, method: `projected gradient ascent from SAM's ε, ε ← Π_ρ(ε + ${r.ascent.stepFraction}·ρ·∇L/‖∇L‖), best point kept` } })),
      hessian: hess ? strip(hess, ['vector']) : null,
      landscape1d: land1, landscape2d: land2,
      evaluations: obj.evaluations, seconds: Math.round(seconds * 10) / 10,
    };
    writeFileSync(join(outDir, 'analysis.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(outDir, 'landscape-1d.json'), `${JSON.stringify({ ...land1, loss: at.loss, bn }, null, 1)}\n`);
    writeFileSync(join(outDir, 'landscape-2d.json'), `${JSON.stringify({ ...land2, loss: at.loss, bn }, null, 1)}\n`);
    const sub = `${obj.images} ${split} images, BatchNorm ${bn}, seed ${seed}, filter-normalised directions`;
    writeFileSync(join(outDir, 'landscape-1d.svg'), lineChartSvg(`1-D loss landscape · ${trained.model} · ${trained.optimizer}`, sub, [{ title: 'L(w + a·d)', xLabel: 'a', yLabel: 'loss', series: [{ label: 'loss', color: '#1f77b4', pts: l1.alphas.map((x, i) => [x, l1.losses[i]]) }], markX: 0 }]));
    writeFileSync(join(outDir, 'landscape-2d.svg'), contourSvg(`2-D loss landscape · ${trained.model} · ${trained.optimizer}`, sub, l2.alphas, l2.betas, l2.losses, { xLabel: 'a (direction 1)', yLabel: 'b (direction 2)' }));
    if (hess) {
      writeFileSync(join(outDir, 'hessian.svg'), lineChartSvg(`Top Hessian eigenvalue · ${trained.model} · ${trained.optimizer}`, `power iteration on finite-difference HVPs (h = ${hess.h}); final λ ≈ ${r4(hess.eigenvalue)}`, [
        { title: 'Rayleigh quotient vᵀHv', xLabel: 'iteration', integerX: true, yLabel: 'eigenvalue estimate', series: [{ label: 'λ', color: '#d62728', pts: hess.trace.map((t) => [t.iteration, t.eigenvalue]) }] },
        { title: 'Residual ‖Hv − λv‖/|λ| (log10)', xLabel: 'iteration', integerX: true, yLabel: 'log10 residual', series: [{ label: 'residual', color: '#555', pts: hess.trace.map((t) => [t.iteration, Math.log10(Math.max(t.residual, 1e-300))]) }] },
      ]));
    }
    if (json) process.stdout.write(`${JSON.stringify({ event: 'done', out: outDir, ...strip(result, ['landscape1d', 'landscape2d']) })}\n`);
    else {
      const rel = relative(process.cwd(), outDir) || '.';
      process.stdout.write(`${what}: loss ${r4(at.loss)}\n`);
      for (const r of sharp) process.stdout.write(`  sharpness ρ=${r.rho}: PUGD ε ${r4(r.pugd.increase)} · SAM ε ${r4(r.sam.increase)} · ${r.random ? `best of ${r.random.k} random ${r4(r.random.increase)} · ` : ''}ascent ${r4(r.ascent.increase)}\n`);
      if (hess) process.stdout.write(`  top Hessian eigenvalue ≈ ${r4(hess.eigenvalue)} (${hess.iterations} power iterations, residual ${hess.trace.at(-1)!.residual.toExponential(2)}; finite differences of gradients, h = ${hess.h})\n`);
      process.stdout.write(`  ${obj.evaluations} evaluations in ${seconds.toFixed(1)} s; outputs in ${rel}/: analysis.json, landscape-1d.{json,svg}, landscape-2d.{json,svg}${hess ? ', hessian.svg' : ''}\n`);
    }
    return 0;
  } finally {
    for (const b of batches) {
      b.x.dispose();
      b.y.dispose();
    }
    model.dispose();
  }
}
