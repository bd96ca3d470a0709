// `pugd analyze` on a model: ModelObjective (a network over fixed batches as a plain objective) gives
// the loss of the loaded weights back through its float64 vector, and a gradient whose directional
// derivative matches central finite differences of its loss, on both backends; then the command end
// to end on a tiny MNIST checkpoint (WASM): its base loss is `pugd eval`'s on the same images, every ε
// lies in its ball, the landscapes pass through the trained weights, and bad input is one line, exit 2.
import { describe, it, beforeAll, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, models, memory, tidy } from '../../index.js';
import { crossEntropy } from '../../engine/ops/softmax_ce.js';
import { noGrad } from '../../engine/autograd.js';
import { ModelObjective } from '../../cli/analyze.js';
import { dot, norm } from '../../cli/analysis.js';
import type { Batch } from '../../cli/trainer.js';
import { testBackends, useBackend } from '../harness.js';
import { BlobLoader } from './loop_fixtures.js';

const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
const env = { ...process.env, PUGD_DATA: mkdtempSync(join(tmpdir(), 'pugd-nodata-')) };
const run = (args: string[], cwd: string) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd, env, timeout: 300_000 });

for (const backend of testBackends()) {
  describe(`ModelObjective on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    for (const bn of ['eval', 'train'] as const) {
      it(`BatchNorm ${bn}: the loss of the loaded weights, and a gradient that matches finite differences`, async () => {
        const before = memory();
        const m = models.createModel('resnet20', { numClasses: 2, inChannels: 1, imageSize: 6, width: 2, generator: new Generator(4) });
        const batches: Batch[] = [];
        for await (const b of new BlobLoader(24, 8, 3, { shuffle: false }).epochBatches()) batches.push(b);
        // The reference loss: the model as created, mean cross-entropy over the 24 images.
        if (bn === 'eval') m.eval();
        let ref = 0;
        for (const { x, y } of batches) {
          const l = noGrad(() => tidy(() => crossEntropy(m.forward(x), y, { reduction: 'sum' })));
          ref += await l.item();
          l.dispose();
        }
        ref /= 24;
        const obj = new ModelObjective(m, batches, bn);
        expect(obj.images).toBe(24);
        expect(obj.dim).toBe(m.numParameters());
        expect(obj.blocks.filter((b) => b.skip).every((b) => !b.name.endsWith('conv1.weight'))).toBe(true);
        const w0 = await obj.weights();
        const l0 = await obj.loss(w0);
        expect(Math.abs(l0 - ref)).toBeLessThan(1e-6 * Math.max(1, ref));
        const { loss, grad } = await obj.lossGrad(w0);
        expect(Math.abs(loss - l0)).toBeLessThan(1e-6);
        // Directional derivative along a random unit direction vs central differences of the loss.
        const gen = new Generator(9);
        const d = Float64Array.from({ length: obj.dim }, () => gen.normal());
        const dn = norm(d);
        d.forEach((_, i) => { d[i] /= dn; });
        const h = 1e-2;
        const lp = await obj.loss(w0.map((v, i) => v + h * d[i]));
        const lm = await obj.loss(w0.map((v, i) => v - h * d[i]));
        const fd = (lp - lm) / (2 * h);
        const an = dot(grad, d);
        expect(Math.abs(fd - an), `finite differences ${fd} vs gradient ${an}`).toBeLessThan(2e-3 + 2e-2 * Math.abs(an));
        expect(Math.abs(an)).toBeGreaterThan(1e-4);
        for (const b of batches) { b.x.dispose(); b.y.dispose(); }
        m.dispose();
        expect(memory().liveTensors).toBe(before.liveTensors);
        expect(memory().liveBytes).toBe(before.liveBytes);
      });
    }
  });
}

describe('pugd analyze end to end (wasm)', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'pugd-analyze-'));
  const runDir = join(cwd, 'run');
  beforeAll(() => {
    const r = run(['train', '--dataset', 'mnist', '--width', '2', '--batch-size', '16', '--limit-train', '64', '--limit-test', '32', '--epochs', '1', '--backend', 'wasm', '--out', runDir, '--json'], cwd);
    expect(r.status, r.stderr).toBe(0);
  });

  it('writes the analysis; its base loss is eval\'s, every ε lies in its ball, the landscapes pass through w', () => {
    const out = join(cwd, 'analysis');
    const r = run(['analyze', '--checkpoint', runDir, '--split', 'test', '--limit', '32', '--directions', '3', '--ascent-steps', '2', '--points', '5', '--grid', '3', '--hessian-iterations', '4', '--out', out, '--json'], cwd);
    expect(r.status, r.stderr).toBe(0);
    for (const f of ['analysis.json', 'landscape-1d.json', 'landscape-1d.svg', 'landscape-2d.json', 'landscape-2d.svg', 'hessian.svg']) expect(existsSync(join(out, f)), f).toBe(true);
    const a = JSON.parse(readFileSync(join(out, 'analysis.json'), 'utf8'));
    expect(a.bn).toBe('eval');
    expect(a.images).toBe(32);
    const ev = run(['eval', '--checkpoint', runDir, '--limit-test', '32', '--json'], cwd);
    expect(ev.status, ev.stderr).toBe(0);
    const e = JSON.parse(ev.stdout.trim().split('\n').at(-1)!);
    expect(Math.abs(a.loss - e.test_loss)).toBeLessThan(1e-5);
    expect(a.sharpness.map((s: { rho: number }) => s.rho)).toEqual([1, 0.05]);
    for (const s of a.sharpness) {
      for (const k of ['pugd', 'sam', 'random']) {
        expect(Math.abs(s[k].epsNorm - s.rho), k).toBeLessThan(1e-9 * s.rho + 1e-12);
        expect(s[k].increase).toBeCloseTo(s[k].loss - a.loss, 12);
      }
      expect(s.ascent.epsNorm).toBeLessThanOrEqual(s.rho * (1 + 1e-9));
      expect(s.ascent.increase).toBeGreaterThanOrEqual(s.sam.increase);
      expect(s.random.increases).toHaveLength(3);
    }
    expect(a.hessian.trace).toHaveLength(4);
    expect(a.hessian.method).toMatch(/finite differences of gradients/);
    // a = 0 is the trained weights (w goes through float64 and back to f32 unchanged).
    expect(a.landscape1d.alphas[2]).toBe(0);
    expect(a.landscape1d.losses[2]).toBe(a.loss);
    expect(a.landscape2d.losses[1][1]).toBe(a.loss);
    const svg = readFileSync(join(out, 'landscape-2d.svg'), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.match(/<rect /g)!.length).toBeGreaterThanOrEqual(9);
  });

  it('bad input: one line naming the option, exit 2', () => {
    const none = run(['analyze'], cwd);
    expect(none.status).toBe(2);
    expect(none.stderr.trim()).toMatch(/^pugd: error: pugd analyze needs --checkpoint/);
    const rho = run(['analyze', '--checkpoint', runDir, '--rho', '1,-2'], cwd);
    expect(rho.status).toBe(2);
    expect(rho.stderr.trim().split('\n')).toHaveLength(1);
    expect(rho.stderr).toMatch(/--rho: expected positive numbers/);
    const missing = run(['analyze', '--checkpoint', join(cwd, 'nope')], cwd);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--checkpoint/);
  });
});
