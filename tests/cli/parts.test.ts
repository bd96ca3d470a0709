// The CLI's parts that need no backend: argument parsing and its one-line errors, --help text, the
// SVG plot, the progress display, and checkpoint files (atomic writes, verification, corruption).
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, formatHelp, UsageError } from '../../cli/args.js';
import { trainSpec, evalSpec } from '../../cli/commands.js';
import { plotSvg, ticks } from '../../cli/plot.js';
import { Progress, formatDuration } from '../../cli/progress.js';
import { formatInfo } from '../../cli/info.js';
import { saveCheckpoint, loadCheckpoint, resolveCheckpoint, writeFileAtomic, listCheckpoints } from '../../cli/checkpoint.js';
import { setBackend, tensor } from '../../engine/index.js';

describe('argument parsing', () => {
  it('reads --name value, --name=value, flags and defaults, and records what was given', () => {
    const a = parseArgs(trainSpec, ['--lr', '0.05', '--epochs=3', '--json', '--dataset', 'mnist', '--momentum', '0']);
    expect(a.values.lr).toBe(0.05);
    expect(a.values.epochs).toBe(3);
    expect(a.values.json).toBe(true);
    expect(a.values['log-steps']).toBe(false);
    expect(a.values.momentum).toBe(0);
    expect(a.values['batch-size']).toBe(100);
    expect(a.values.optimizer).toBe('pugd');
    expect([...a.given].sort()).toEqual(['dataset', 'epochs', 'json', 'lr', 'momentum']);
    expect(parseArgs(trainSpec, ['--help']).help).toBe(true);
  });

  it('bad input is one line naming the option and the reason', () => {
    const cases: [string[], RegExp][] = [
      [['--lr', 'fast'], /^--lr: 'fast' is not a number$/],
      [['--lr', '0'], /^--lr: 0 must be greater than 0$/],
      [['--lr', '-1'], /^--lr: -1 must be greater than 0$/],
      [['--momentum', '1'], /^--momentum: 1 must be less than 1$/],
      [['--epochs', '2.5'], /^--epochs: '2.5' is not a whole number$/],
      [['--epochs', '0'], /^--epochs: 0 is below the minimum 1$/],
      [['--batch-size'], /^--batch-size needs a value/],
      [['--batch-size', '--lr', '1'], /^--batch-size needs a value/],
      [['--optimizer', 'pgd'], /^--optimizer: 'pgd' is not one of pugd, sgd, sam, asam, adam, adamw, ugd \(did you mean 'pugd'\?\)$/],
      [['--dataset', 'cifar'], /^--dataset: 'cifar' is not one of .*cifar10/],
      [['--learning-rate', '0.1'], /^unknown option '--learning-rate' for 'pugd train'; see pugd train --help$/],
      [['--epoch', '3'], /unknown option '--epoch' for 'pugd train' \(did you mean --epochs\?\)/],
      [['resnet20'], /^unexpected argument 'resnet20'/],
      [['--json=yes'], /--json is a flag and takes no value/],
      [['--lr', '1', '--lr', '2'], /--lr is given twice/],
      [['--seed', '-3'], /--seed: -3 is below the minimum 0/],
    ];
    for (const [argv, re] of cases) {
      let err: unknown;
      try {
        parseArgs(trainSpec, argv);
      } catch (e) {
        err = e;
      }
      expect(err, argv.join(' ')).toBeInstanceOf(UsageError);
      expect((err as Error).message, argv.join(' ')).toMatch(re);
      expect((err as Error).message.includes('\n')).toBe(false);
    }
  });

  it('--help lists every option of the issue with its default', () => {
    const h = formatHelp(trainSpec);
    for (const f of ['model', 'dataset', 'data', 'optimizer', 'lr', 'momentum', 'weight-decay', 'epochs', 'batch-size', 'schedule', 'warmup', 'seed', 'backend', 'out', 'resume', 'limit-train', 'limit-test', 'json']) {
      expect(h, f).toMatch(new RegExp(`\\n  --${f}\\b`));
    }
    expect(h).toMatch(/--batch-size N\s+images per step \(default 100\)/);
    expect(h).toMatch(/cifar10\|cifar100\|mnist\|fashion-mnist\|tiny-imagenet\|imagefolder/);
    expect(formatHelp(evalSpec)).toMatch(/--checkpoint CKPT/);
  });
});

describe('pugd info text', () => {
  const reports = [
    { name: 'webgpu' as const, ok: true, info: { name: 'webgpu' as const, description: 'webgpu (test adapter)', adapter: { vendor: 'v', architecture: 'a', device: '', description: '', isFallbackAdapter: true }, limits: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`limit${i}`, i])), features: ['f16'] } },
    { name: 'wasm' as const, ok: true, info: { name: 'wasm' as const, description: 'wasm (SIMD, 2 threads)', threads: 2 } },
  ];
  it('is short by default and lists limits and features with --verbose', () => {
    const short = formatInfo(reports as never, '0.1.0').split('\n');
    expect(short.length).toBeLessThan(10);
    expect(short).toContain('  limits and features: pugd info --verbose');
    expect(short.join('\n')).not.toMatch(/limit29/);
    const long = formatInfo(reports as never, '0.1.0', true);
    expect(long).toMatch(/\n {4}limit29: 29\n/);
    expect(long).toMatch(/features: f16/);
  });
});

describe('SVG plot', () => {
  it('draws both panels with train and test curves and escapes the title', () => {
    const pts = [1, 2, 3].map((e) => ({ epoch: e, trainLoss: 2 / e, trainAcc: 0.3 * e, testLoss: 2.2 / e, testAcc: 0.28 * e }));
    const svg = plotSvg(pts, 'resnet20 <cifar10> & pugd');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('resnet20 &lt;cifar10&gt; &amp; pugd');
    expect(svg.match(/<path /g)!.length).toBe(4); // loss train/test, accuracy train/test
    expect(svg.match(/<circle /g)!.length).toBe(12);
    expect(svg).toContain('epoch 3: train loss 0.6667, acc 90.00% · test loss 0.7333, acc 84.00%');
    // The accuracy panel is 0–100 %: 90 % sits 90 % of the way up a 270-px panel starting at y = 76.
    expect(svg).toMatch(/cy="103\.0"/);
    expect(plotSvg([], 'empty')).toContain('no epoch finished yet');
  });

  it('one epoch: the x axis shows epoch 1 alone, the points in the middle (no epoch 2)', () => {
    const svg = plotSvg([{ epoch: 1, trainLoss: 2, trainAcc: 0.3, testLoss: 2.1, testAcc: 0.25 }], 'one');
    const xLabels = [...svg.matchAll(/<text x="[\d.]+" y="[\d.]+" text-anchor="middle" font-size="11">(\d+)<\/text>/g)].map((m) => m[1]);
    expect(xLabels).toEqual(['1', '1']); // one tick per panel
    const cx = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    const tickX = [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="middle" font-size="11">1<\/text>/g)].map((m) => Number(m[1]));
    expect(cx.slice(0, 2)).toEqual([tickX[0], tickX[0]]); // the loss panel's points sit on its tick
  });

  it('ticks are round numbers covering the range', () => {
    expect(ticks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks(0, 2.3)).toEqual([0, 0.5, 1, 1.5, 2]);
    expect(ticks(1, 10, 9)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});

describe('progress', () => {
  it('redraws a bar in place on a terminal and prints throttled lines elsewhere', () => {
    let t = 0;
    let tty = '';
    const p = new Progress({ out: { write: (s) => (tty += s) }, tty: true, columns: 120, now: () => t });
    p.start('epoch 1/3', 100);
    t = 10_000;
    p.update({ batch: 50, images: 5000, loss: 1.23456, acc: 0.5 });
    expect(tty).toMatch(/^\repoch 1\/3 \[#{15}-{15}\] 50\/100 · 500\.0 img\/s · loss 1\.2346 · acc 50\.00% · ETA 0:10/);
    t = 10_050;
    p.update({ batch: 51, images: 5100, loss: 1, acc: 0.5 }); // within 100 ms: not redrawn
    expect(tty.split('\r').length).toBe(2);
    p.end();
    let log = '';
    const q = new Progress({ out: { write: (s) => (log += s) }, tty: false, lineEverySec: 5, now: () => t });
    q.start('epoch 2/3', 10);
    for (let i = 1; i <= 10; i++) {
      t += 1500;
      q.update({ batch: i, images: 100 * i, loss: NaN, acc: NaN });
    }
    expect(log.trim().split('\n')).toEqual([
      'epoch 2/3 4/10 · 66.7 img/s · loss … · acc … · ETA 0:09',
      'epoch 2/3 8/10 · 66.7 img/s · loss … · acc … · ETA 0:03',
    ]);
    expect(formatDuration(3725)).toBe('1:02:05');
  });
});

describe('progress on odd outputs never throws', () => {
  it('a terminal of 0, 1, NaN or no columns draws an 80-column bar; a resized one follows', () => {
    for (const columns of [0, 1, NaN, -5, undefined]) {
      let tty = '';
      let t = 0;
      const p = new Progress({ out: { write: (s) => (tty += s) }, tty: true, columns: () => columns, now: () => t });
      p.start('epoch 1/1', 4);
      t = 1000;
      p.update({ batch: 4, images: 400, loss: 0.5, acc: 0.25 }, true);
      p.end();
      const [, bar, clear] = tty.split('\r');
      expect(bar, String(columns)).toBe('epoch 1/1 [###########] 4/4 · 400.0 img/s · loss 0.5000 · acc 25.00% · ETA 0:00');
      expect(bar.length).toBe(79); // the bar takes what 80 columns leave
      expect(clear).toBe(' '.repeat(79));
    }
    let width = 30;
    let tty = '';
    const p = new Progress({ out: { write: (s) => (tty += s) }, tty: true, columns: () => width, now: () => 0 });
    p.start('epoch 1/1', 4);
    p.update({ batch: 1, images: 1, loss: 1, acc: 1 }, true);
    width = 3;
    p.update({ batch: 2, images: 2, loss: 1, acc: 1 }, true);
    p.end();
    expect(tty.split('\r').slice(1).map((l) => l.length)).toEqual([29, 2, 2, 0]);
  });

  it('more batches than announced and an output that throws: the caller is never disturbed', () => {
    let tty = '';
    const p = new Progress({ out: { write: (s) => (tty += s) }, tty: true, columns: 100, now: () => 0 });
    p.start('epoch 1/1', 2);
    p.update({ batch: 5, images: 5, loss: 1, acc: 1 }, true);
    expect(tty).toMatch(/\[#{30}\] 5\/2/);
    let calls = 0;
    const q = new Progress({ out: { write: () => { calls++; throw new Error('EIO'); } }, tty: true, columns: 100, now: () => 0 });
    q.start('epoch 1/1', 2);
    q.update({ batch: 1, images: 1, loss: 1, acc: 1 }, true);
    q.update({ batch: 2, images: 2, loss: 1, acc: 1 }, true);
    q.end();
    expect(calls).toBe(1); // turned off after the first failure
  });

  it('in a log the forced last line of a phase is not printed again when it was just printed', () => {
    let log = '';
    let t = 0;
    const q = new Progress({ out: { write: (s) => (log += s) }, tty: false, lineEverySec: 5, now: () => t });
    q.start('epoch 1/1', 2);
    t = 6000;
    q.update({ batch: 2, images: 20, loss: 1, acc: 0.5 }); // due: printed
    q.update({ batch: 2, images: 20, loss: 1, acc: 0.5 }, true); // the loop's final forced update
    expect(log.trim().split('\n')).toEqual(['epoch 1/1 2/2 · 3.3 img/s · loss 1.0000 · acc 50.00% · ETA 0:00']);
    q.start('test', 1);
    q.update({ batch: 1, images: 10, loss: 1, acc: 0.5 }, true); // a new phase prints its own line
    expect(log.trim().split('\n')).toHaveLength(2);
  });
});

describe('checkpoint files', () => {
  beforeAll(() => setBackend('wasm'));
  const dir = () => mkdtempSync(join(tmpdir(), 'pugd-ckpt-'));
  // A manifest that passes the schema check (cli/manifest_schema.ts): one epoch of `step` steps done.
  const config = { model: 'resnet20', dataset: 'mnist', data: '/data', optimizer: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0, labelSmoothing: 0, epochs: 2, batchSize: 10, schedule: 'cosine', warmup: 0, seed: 0, augment: false, demo: false };
  const epochRecord = (step: number) => ({ epoch: 1, step, lr: 0.1, train_loss: 1, train_acc: 0.5, train_images: 10 * step, train_time_s: 1, images_per_s: 10, epoch_time_s: 1, elapsed_s: 1 });
  const base = (d: string, step: number) => ({
    dir: d, epoch: 1, step, batchInEpoch: 0, config, modelBytes: new Uint8Array([1, 2, 3, step]),
    optimizer: { lr: 0.1, state: [{ momentum: tensor([step, 2, 3], [3]) }], nan: NaN }, scheduler: { last: 3 }, rng: { global: [1, 2, 3, 4, null] }, loader: { seed: 0, epoch: 1, batch: step },
    extra: { history: [epochRecord(step)] },
  });

  it('writes model, optimizer tensors and manifest; reads them back and verifies them', async () => {
    const d = dir();
    const m = await saveCheckpoint(base(d, 5));
    expect(readdirSync(d).sort()).toEqual(['step-000005.json', 'step-000005.optim.safetensors', 'step-000005.safetensors']);
    const c = loadCheckpoint(d);
    expect(c.manifestPath).toBe(m);
    expect([...c.modelBytes]).toEqual([1, 2, 3, 5]);
    const o = c.optimizer as { lr: number; state: { momentum: import('../../engine/index.js').Tensor }[]; nan: number };
    expect(o.lr).toBe(0.1);
    expect(Number.isNaN(o.nan)).toBe(true);
    expect([...(await o.state[0].momentum.toArray())]).toEqual([5, 2, 3]);
    o.state[0].momentum.dispose();
    expect(c.manifest.loader).toEqual({ seed: 0, epoch: 1, batch: 5 });
    // Older checkpoints are pruned to `keep` after a newer one is committed.
    await saveCheckpoint(base(d, 6));
    await saveCheckpoint(base(d, 7));
    expect(listCheckpoints(d).map((p) => p.slice(-16))).toEqual(['step-000007.json', 'step-000006.json']);
    expect(existsSync(join(d, 'step-000005.safetensors'))).toBe(false);
    expect(resolveCheckpoint(join(d, 'step-000006.safetensors'))).toBe(join(d, 'step-000006.json'));
  });

  it('a write interrupted before its manifest leaves the previous checkpoint as the newest, intact', async () => {
    const d = dir();
    await saveCheckpoint(base(d, 1));
    // What a kill mid-write leaves: a temporary file and a renamed tensor file without a manifest.
    writeFileSync(join(d, 'step-000002.safetensors.tmp-999'), 'partial');
    writeFileSync(join(d, 'step-000002.safetensors'), 'whole but uncommitted');
    expect(loadCheckpoint(d).manifest.step).toBe(1);
    // A save never touches another process's temporary files (the run lock's takeover of a dead
    // holder removes those: tests/cli/runlock.test.ts), and a failed write removes its own.
    await saveCheckpoint(base(d, 3));
    expect(loadCheckpoint(d).manifest.step).toBe(3);
    expect(readdirSync(d).filter((f) => f.includes('.tmp-'))).toEqual(['step-000002.safetensors.tmp-999']);
    mkdirSync(join(d, `step-000004.json.tmp-${process.pid}`)); // in the way of the manifest's write
    await expect(saveCheckpoint(base(d, 4))).rejects.toThrow(new RegExp(`^cannot write ${d}/step-000004\\.json \\(EISDIR`));
    expect(readdirSync(d).filter((f) => f.startsWith('step-000004') && !f.includes('.tmp-'))).toEqual([]);
    expect(loadCheckpoint(d).manifest.step).toBe(3);
  });

  it('damaged checkpoints are refused with the file and the reason', async () => {
    const d = dir();
    const m = await saveCheckpoint(base(d, 4));
    const model = join(d, 'step-000004.safetensors');
    writeFileSync(model, new Uint8Array([1, 2, 3, 9]));
    expect(() => loadCheckpoint(m)).toThrow(/the model file step-000004\.safetensors is corrupt \(sha256 differs/);
    writeFileSync(model, new Uint8Array([1, 2]));
    expect(() => loadCheckpoint(m)).toThrow(/has 2 bytes, the manifest says 4/);
    writeFileSync(m, '{"format": "pugd-checkpoint", ');
    expect(() => loadCheckpoint(m)).toThrow(/the manifest is not valid JSON/);
    writeFileSync(m, '{"format": "something"}');
    expect(() => loadCheckpoint(m)).toThrow(/not a pugd checkpoint manifest/);
    expect(() => loadCheckpoint(join(d, 'nope.json'))).toThrow(/does not exist/);
    expect(() => loadCheckpoint(mkdtempSync(join(tmpdir(), 'pugd-empty-')))).toThrow(/holds no checkpoint/);
  });

  it('writeFileAtomic replaces a file whole', () => {
    const d = dir();
    const p = join(d, 'f.txt');
    writeFileAtomic(p, 'one');
    writeFileAtomic(p, 'two');
    expect(readFileSync(p, 'utf8')).toBe('two');
    expect(readdirSync(d)).toEqual(['f.txt']);
  });
});
