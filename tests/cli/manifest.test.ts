// Checkpoint manifests are checked, not trusted (built CLI, WASM, a few MNIST images): a manifest
// carries its own sha256, so any edit of a current one is refused; an older (version 1) manifest
// without it is held to the schema, and every invalid field exits 2 naming the file and the field,
// for `train --resume` and `eval` alike. A run folder killed before its first checkpoint is not a dead
// end: --resume starts its run afresh (the same steps as an uninterrupted run), and train --out reuses it.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `pugd-${p}-`));
const env = { ...process.env, PUGD_DATA: tmp('nodata') };
const small = ['--dataset', 'mnist', '--width', '2', '--batch-size', '16', '--limit-test', '32', '--backend', 'wasm'];
const pugd = (args: string[], cwd: string) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd, env, timeout: 120_000 });
const jsonl = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

type Edit = [string, (m: any) => void, string];
// Each edit and the field the error must name (schema checks of a version 1 manifest).
const edits: Edit[] = [
  ['loader null', (m) => { m.loader = null; }, 'loader'],
  ['loader epoch -1', (m) => { m.loader.epoch = -1; }, 'loader.epoch'],
  ['garbage history', (m) => { m.extra.history = [1, 2, 3, 4, 5, 6, 7, 8]; }, 'extra.history'],
  ['history record', (m) => { m.extra.history[0].train_loss = 'low'; }, 'extra.history[0].train_loss'],
  ['step 99999', (m) => { m.step = 99999; }, 'step'],
  ['epoch 0', (m) => { m.epoch = 0; }, 'extra.history'],
  ['batchInEpoch beyond the epoch', (m) => { m.batchInEpoch = 99; }, 'batchInEpoch'],
  ['no partial sums', (m) => { delete m.extra.partial; }, 'extra.partial'],
  ['lr text', (m) => { m.config.lr = '0.1'; }, 'config.lr'],
  ['lr negative', (m) => { m.config.lr = -1; }, 'config.lr'],
  ['optimizer name', (m) => { m.config.optimizer = 'lion'; }, 'config.optimizer'],
  ['batch size 0', (m) => { m.config.batchSize = 0; }, 'config.batchSize'],
  ['epochs 2.5', (m) => { m.config.epochs = 2.5; }, 'config.epochs'],
  ['dataset', (m) => { m.config.dataset = 'imagenet'; }, 'config.dataset'],
  ['model file of another step', (m) => { m.files.model.path = 'step-000001.safetensors'; }, 'files.model.path'],
  ['model sha', (m) => { m.files.model.sha256 = 'abc'; }, 'files.model.sha256'],
  ['rng', (m) => { m.rng.global = [1, 2]; }, 'rng.global'],
  ['optimizer null', (m) => { m.optimizer = null; }, 'optimizer'],
  ['optimizer param groups', (m) => { m.optimizer.paramGroups[0].lr = 'x'; }, 'optimizer'],
  ['loss level', (m) => { m.extra.lossLevel = -3; }, 'extra.lossLevel'],
];

describe('checkpoint manifests', () => {
  let cwd: string;
  let manifest: string;
  let original: any;
  beforeAll(() => {
    cwd = tmp('manifest');
    // 3 steps per checkpoint over 10 steps an epoch: the last mid-epoch checkpoint is step 15.
    expect(pugd(['train', ...small, '--limit-train', '160', '--epochs', '2', '--checkpoint-every', '3', '--out', 'run'], cwd).status).toBe(0);
    manifest = join(cwd, 'run/checkpoints/step-000018.json');
    original = JSON.parse(readFileSync(manifest, 'utf8'));
    expect([original.version, original.epoch, original.batchInEpoch]).toEqual([2, 1, 8]);
  });

  /** A copy of the run with the manifest replaced; returns the manifest's path. */
  const variant = (name: string, m: unknown) => {
    const dir = join(cwd, name);
    cpSync(join(cwd, 'run'), dir, { recursive: true });
    const p = join(dir, 'checkpoints/step-000018.json');
    writeFileSync(p, typeof m === 'string' ? m : `${JSON.stringify(m, null, 1)}\n`);
    return p;
  };
  const v1 = (edit: (m: any) => void) => {
    const m = structuredClone(original);
    delete m.checksum;
    m.version = 1;
    edit(m);
    return m;
  };

  it('any edit of a version 2 manifest is refused by its checksum (exit 2, the file and the field named)', () => {
    const m = structuredClone(original);
    m.step = 17;
    const p = variant('edited', m);
    const r = pugd(['train', '--resume', p, '--epochs', '3'], cwd);
    expect([r.status, r.stderr.trim()]).toEqual([2, `pugd: error: --resume: checkpoint ${p}: field 'checksum' does not match the manifest's content: it was changed after it was written (edited or damaged)`]);
    const e = pugd(['eval', '--checkpoint', p], cwd);
    expect([e.status, e.stderr.trim()]).toEqual([2, `pugd: error: --checkpoint: checkpoint ${p}: field 'checksum' does not match the manifest's content: it was changed after it was written (edited or damaged)`]);
    const n = structuredClone(original);
    delete n.checksum;
    const q = variant('nosum', n);
    expect(pugd(['train', '--resume', q, '--epochs', '3'], cwd).stderr).toContain(`checkpoint ${q}: field 'checksum' is missing`);
    // Whitespace is not content: the same JSON laid out otherwise still loads.
    const w = variant('compact', JSON.stringify(original));
    expect(pugd(['eval', '--checkpoint', w, '--limit-test', '16'], cwd).status).toBe(0);
  });

  it('an unedited version 1 manifest (no checksum) still resumes', () => {
    const p = variant('v1', v1(() => {}));
    const r = pugd(['train', '--resume', p, '--epochs', '2'], cwd);
    expect(r.status, r.stderr).toBe(0);
    expect(jsonl(join(cwd, 'v1/metrics.jsonl')).map((e) => e.train_loss)).toEqual(jsonl(join(cwd, 'run/metrics.jsonl')).map((e) => e.train_loss));
  });

  for (const [what, edit, field] of edits) {
    it(`version 1 manifest, ${what}: exit 2 naming the file and field '${field}'`, () => {
      const p = variant(`v1-${what.replace(/\W+/g, '-')}`, v1(edit));
      const r = pugd(['train', '--resume', p, '--epochs', '3'], cwd);
      const lines = r.stderr.trim().split('\n');
      expect(r.status, r.stderr).toBe(2);
      expect(lines.length, r.stderr).toBe(1);
      expect(lines[0]).toContain(`checkpoint ${p}: field '${field}' `);
    });
  }
});

describe('a run folder killed before its first checkpoint', () => {
  it('--resume starts it afresh and takes the steps of an uninterrupted run; train --out reuses such a folder with a note', async () => {
    const cwd = tmp('killed-early');
    const args = (out: string) => ['train', ...small, '--limit-train', '320', '--epochs', '1', '--log-steps', '--out', out];
    expect(pugd(args('full'), cwd).status).toBe(0);
    for (const dir of ['cut', 'cut2']) {
      const child = spawn(process.execPath, [cli, ...args(dir)], { cwd, env, stdio: 'ignore' });
      await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => {
          const p = join(cwd, dir, 'steps.jsonl');
          if (existsSync(p) && readFileSync(p, 'utf8').split('\n').length > 3) {
            child.kill('SIGKILL');
            clearInterval(t);
            resolve();
          }
        }, 10);
        child.on('exit', (code, sig) => { clearInterval(t); if (sig !== 'SIGKILL') reject(new Error(`ended by itself (${code})`)); });
      });
      const ck = join(cwd, dir, 'checkpoints');
      expect(existsSync(ck) ? readdirSync(ck).filter((f) => f.endsWith('.json')) : []).toEqual([]);
    }
    const r = pugd(['train', '--resume', 'cut'], cwd);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('pugd: note: cut holds no checkpoint (the run stopped before its first one); starting its run afresh from cut/config.json');
    expect(jsonl(join(cwd, 'cut/steps.jsonl'))).toEqual(jsonl(join(cwd, 'full/steps.jsonl')));
    expect(jsonl(join(cwd, 'cut/metrics.jsonl')).map((e) => e.test_acc)).toEqual(jsonl(join(cwd, 'full/metrics.jsonl')).map((e) => e.test_acc));

    const again = pugd(args('cut2'), cwd);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain('pugd: note: --out cut2 holds a run that stopped before writing a checkpoint; starting it afresh there');
    expect(jsonl(join(cwd, 'cut2/steps.jsonl'))).toEqual(jsonl(join(cwd, 'full/steps.jsonl')));
    // A folder that holds a checkpoint is still protected.
    const refused = pugd(args('cut2'), cwd);
    expect([refused.status, refused.stderr.trim()]).toEqual([2, 'pugd: error: --out cut2 already holds a run; choose another folder, or continue it with --resume cut2']);
  });
});
