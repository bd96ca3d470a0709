// `pugd train` end to end on a few hundred MNIST images, as a user runs it (the built dist/cli.js in
// a child process): the run's metrics.jsonl, curves.svg, checkpoint and final weights are checked
// with readers written here, `pugd eval` on the checkpoint reproduces the last epoch's test figures,
// and a run killed with SIGKILL and resumed takes exactly the steps of an uninterrupted run (WASM).
import { describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testBackends } from '../harness.js';

const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `pugd-${p}-`));
const emptyData = tmp('nodata');
const env = { ...process.env, PUGD_DATA: emptyData };
// A small, quick configuration: ResNet-20 at width 2 on 128–192 MNIST images.
const small = ['--dataset', 'mnist', '--width', '2', '--batch-size', '16', '--limit-test', '96'];

function run(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd, env, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`pugd ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

/** A safetensors reader written from the format's definition (independent of engine/io). */
function readSafetensors(path: string): Record<string, { dtype: string; shape: number[]; values: number[] }> {
  const b = readFileSync(path);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  const out: Record<string, { dtype: string; shape: number[]; values: number[] }> = {};
  for (const [k, v] of Object.entries<any>(header)) {
    if (k === '__metadata__') continue;
    const [s, e] = v.data_offsets;
    const values: number[] = [];
    for (let o = 8 + n + s; o < 8 + n + e; o += v.dtype === 'I64' ? 8 : 4) values.push(v.dtype === 'F32' ? b.readFloatLE(o) : Number(b.readBigInt64LE(o)));
    out[k] = { dtype: v.dtype, shape: v.shape, values };
  }
  return out;
}

const jsonl = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

for (const backend of testBackends()) {
  describe(`pugd train end to end on ${backend}`, () => {
    it('leaves metrics, plot, checkpoints and weights that independent readers accept; eval reproduces the test figures', () => {
      const cwd = tmp('e2e');
      const out = join(cwd, 'run');
      // WebGPU runs on SwiftShader (a CPU renderer) where there is no GPU: fewer images there.
      const n = backend === 'webgpu' ? 48 : 192;
      const steps = n / 16;
      const r = run(['train', ...small, '--limit-train', String(n), '--epochs', '2', '--backend', backend, '--out', out, '--json'], cwd);
      const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(events[0].event).toBe('start');
      expect(events[0].backend).toBe(backend);
      expect(events.at(-1).event).toBe('done');

      const m = jsonl(join(out, 'metrics.jsonl'));
      expect(m.map((e) => e.epoch)).toEqual([1, 2]);
      expect(m.map((e) => e.step)).toEqual([steps, 2 * steps]);
      for (const e of m) {
        for (const k of ['train_loss', 'train_acc', 'test_loss', 'test_acc', 'lr', 'images_per_s', 'epoch_time_s']) expect(Number.isFinite(e[k]), k).toBe(true);
        expect(e.train_images).toBe(n);
        expect(e.test_acc).toBeGreaterThanOrEqual(0);
        expect(e.test_acc).toBeLessThanOrEqual(1);
      }
      // Cosine over 2 epochs, per epoch: 0.1, then 0.1·(1 + cos(π/2))/2 = 0.05.
      expect(m[0].lr).toBeCloseTo(0.1, 12);
      expect(m[1].lr).toBeCloseTo(0.05, 12);

      const svg = readFileSync(join(out, 'curves.svg'), 'utf8');
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(svg.match(/<path /g)!.length).toBe(4);
      expect(svg).toContain(`epoch 2: train loss ${m[1].train_loss.toFixed(4)}`);

      const ck = readdirSync(join(out, 'checkpoints')).filter((f) => f.endsWith('.json')).sort();
      const stem = (s: number) => `step-${String(s).padStart(6, '0')}`;
      expect(ck).toEqual([`${stem(steps)}.json`, `${stem(2 * steps)}.json`]);
      const manifest = JSON.parse(readFileSync(join(out, 'checkpoints', `${stem(2 * steps)}.json`), 'utf8'));
      expect([manifest.epoch, manifest.step, manifest.batchInEpoch]).toEqual([2, 2 * steps, 0]);
      const w = readSafetensors(join(out, 'checkpoints', `${stem(2 * steps)}.safetensors`));
      expect(w['conv1.weight'].shape).toEqual([2, 1, 3, 3]);
      expect(w['layer3.2.bn2.running_var'].shape).toEqual([8]);
      expect(w['linear.weight'].shape).toEqual([10, 8]);
      // Two training passes (PUGD) per step, one BatchNorm call each.
      expect(w['bn1.num_batches_tracked']).toEqual({ dtype: 'I64', shape: [], values: [2 * 2 * steps] });
      const final = readSafetensors(join(out, 'model.safetensors'));
      expect(final['linear.weight'].values).toEqual(w['linear.weight'].values);
      const optim = readSafetensors(join(out, 'checkpoints', `${stem(2 * steps)}.optim.safetensors`));
      expect(Object.keys(optim).length).toBeGreaterThan(0);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      expect(summary.final.test_acc).toBe(m[1].test_acc);

      const ev = JSON.parse(run(['eval', '--checkpoint', out, '--limit-test', '96', '--backend', backend, '--json'], cwd).stdout);
      expect(ev.images).toBe(96);
      expect(ev.test_acc).toBe(m[1].test_acc);
      expect(ev.test_loss).toBeCloseTo(m[1].test_loss, 5);
    });
  });
}

describe('resume', () => {
  it('a run killed at an arbitrary step and resumed takes the same steps as an uninterrupted run (WASM)', async () => {
    const cwd = tmp('resume');
    const args = (out: string) => ['train', ...small, '--limit-train', '128', '--epochs', '3', '--backend', 'wasm', '--out', out, '--log-steps', '--checkpoint-every', '3'];
    const full = join(cwd, 'full');
    run(args(full), cwd);
    const want = jsonl(join(full, 'steps.jsonl'));
    expect(want.length).toBe(24);

    // Kill the second run (no chance to clean up) once it has logged 13 steps: mid-epoch 2.
    const cut = join(cwd, 'cut');
    const child = spawn(process.execPath, [cli, ...args(cut)], { cwd, env, stdio: 'ignore' });
    const killedAt = await new Promise<number>((resolve, reject) => {
      const t = setInterval(() => {
        const p = join(cut, 'steps.jsonl');
        const n = existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean).length : 0;
        if (n >= 13) {
          child.kill('SIGKILL');
          clearInterval(t);
          resolve(n);
        }
      }, 20);
      child.on('exit', (code, sig) => {
        clearInterval(t);
        if (sig !== 'SIGKILL') reject(new Error(`the run ended by itself (${code}) before it was killed`));
      });
    });
    expect(killedAt).toBeGreaterThanOrEqual(13);
    const before = readdirSync(join(cut, 'checkpoints')).filter((f) => f.endsWith('.json'));
    expect(before.length).toBeGreaterThan(0);

    run(['train', '--resume', cut], cwd);
    const got = jsonl(join(cut, 'steps.jsonl'));
    expect(got.map((s) => s.step)).toEqual(want.map((s) => s.step));
    expect(got.map((s) => s.loss)).toEqual(want.map((s) => s.loss));
    const mFull = jsonl(join(full, 'metrics.jsonl'));
    const mCut = jsonl(join(cut, 'metrics.jsonl'));
    for (const k of ['train_loss', 'train_acc', 'test_loss', 'test_acc', 'lr']) expect(mCut.map((e) => e[k]), k).toEqual(mFull.map((e) => e[k]));
    const a = readSafetensors(join(full, 'model.safetensors'));
    const b = readSafetensors(join(cut, 'model.safetensors'));
    for (const k of Object.keys(a)) expect(b[k].values, k).toEqual(a[k].values);
  });
});
