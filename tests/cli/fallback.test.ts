// A damaged newest checkpoint does not block a run folder (issue 16 item 7; built CLI, WASM, a few
// MNIST images): `train --resume DIR` and `eval --checkpoint DIR` fall back to the newest intact
// checkpoint and say which one was damaged and why; a checkpoint named explicitly is never replaced
// by another; a folder with no intact checkpoint exits 2.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, cpSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `pugd-${p}-`));
const env = { ...process.env, PUGD_DATA: tmp('nodata') };
const pugd = (a: string[], cwd: string) => spawnSync(process.execPath, [cli, ...a], { encoding: 'utf8', cwd, env, timeout: 120_000 });
const jsonl = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('a damaged newest checkpoint', () => {
  let cwd: string;
  let metrics: any[];
  beforeAll(() => {
    cwd = tmp('fallback');
    const r = pugd(['train', '--dataset', 'mnist', '--width', '2', '--batch-size', '16', '--limit-train', '160', '--limit-test', '32', '--epochs', '3', '--backend', 'wasm', '--out', 'run'], cwd);
    expect(r.status, r.stderr).toBe(0);
    metrics = jsonl(join(cwd, 'run/metrics.jsonl'));
  });
  const copy = (name: string, damage: (ck: string) => void) => {
    cpSync(join(cwd, 'run'), join(cwd, name), { recursive: true });
    damage(join(cwd, name, 'checkpoints'));
    return join(cwd, name, 'checkpoints');
  };

  const damages: [string, (ck: string) => void, RegExp][] = [
    ['a truncated weights file', (ck) => truncateSync(join(ck, 'step-000030.safetensors'), 100), /the model file step-000030\.safetensors has 100 bytes, the manifest says \d+ \(truncated or replaced\)/],
    ['a corrupt optimizer file', (ck) => { const p = join(ck, 'step-000030.optim.safetensors'); const b = readFileSync(p); b[b.length - 1] ^= 1; writeFileSync(p, b); }, /the optimizer file step-000030\.optim\.safetensors is corrupt/],
    ['a torn manifest', (ck) => writeFileSync(join(ck, 'step-000030.json'), '{"format": "pugd-checkpoint", "vers'), /the manifest is not valid JSON/],
  ];
  for (const [what, damage, reason] of damages) {
    it(`${what}: eval and resume of the folder use the previous checkpoint and say so`, () => {
      const name = what.replace(/\W+/g, '-');
      const ck = copy(name, damage);
      const ev = pugd(['eval', '--checkpoint', name, '--limit-test', '32', '--json'], cwd);
      expect(ev.status, ev.stderr).toBe(0);
      const note = ev.stderr.trim().split('\n').find((l) => l.startsWith('pugd: note: '))!;
      expect(note).toMatch(new RegExp(`^pugd: note: the newest checkpoint is damaged \\(${ck}/step-000030\\.json: `));
      expect(note).toMatch(reason);
      expect(note.endsWith(`using the newest intact one, ${ck}/step-000020.json`)).toBe(true);
      const res = JSON.parse(ev.stdout);
      expect([res.step, res.images, res.test_acc]).toEqual([20, 32, metrics[1].test_acc]);
      expect(res.test_loss).toBeCloseTo(metrics[1].test_loss, 5);

      const r = pugd(['train', '--resume', name], cwd);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(note);
      expect(r.stdout).toContain(`resuming ${ck}/step-000020.json at epoch 3, step 20`);
      // Epoch 3 again from the intact checkpoint: the same figures as the original run.
      expect(jsonl(join(cwd, name, 'metrics.jsonl'))).toHaveLength(3);
      expect(jsonl(join(cwd, name, 'metrics.jsonl'))[2].train_loss).toBe(metrics[2].train_loss);
    });
  }

  it('a damaged checkpoint named explicitly is refused, not replaced; a folder with none intact exits 2', () => {
    const ck = copy('both', (d) => {
      truncateSync(join(d, 'step-000030.safetensors'), 10);
      truncateSync(join(d, 'step-000020.safetensors'), 10);
    });
    const one = pugd(['eval', '--checkpoint', join(ck, 'step-000030.json')], cwd);
    expect([one.status, one.stderr.trim()]).toEqual([2, `pugd: error: --checkpoint: checkpoint ${ck}/step-000030.json: the model file step-000030.safetensors has 10 bytes, the manifest says ${JSON.parse(readFileSync(join(ck, 'step-000030.json'), 'utf8')).files.model.bytes} (truncated or replaced)`]);
    const all = pugd(['train', '--resume', 'both'], cwd);
    expect(all.status).toBe(2);
    expect(all.stderr.trim()).toMatch(new RegExp(`^pugd: error: --resume: checkpoint 'both': none of its 2 checkpoints is intact; the newest: checkpoint ${ck}/step-000030\\.json: the model file`));
  });
});
