// The page's TrainingSession (web/session.ts) in Node, on WASM, for what a user can get wrong in the
// page's fields and files: each is one clear error, never a run of 0 steps or a NaN.
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainingSession } from '../../web/session.js';
import type { TrainConfig } from '../../web/protocol.js';

const root = join(import.meta.dirname, '../..');
const cfg: TrainConfig = { model: 'resnet8', width: 4, optimizer: 'sgd', lr: 0.1, batchSize: 32, epochs: 1, seed: 1, maxSteps: 1 };

const errorOf = async (f: () => Promise<unknown>) => {
  try {
    await f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('TrainingSession input checks', () => {
  const logs: string[] = [];
  const s = new TrainingSession((l) => logs.push(l));
  beforeAll(async () => {
    await s.init('wasm');
    await s.loadData({ kind: 'sample', train: 64, test: 32 });
  });

  it('refuses epochs, batch, lr, width and maxSteps that would train nothing or NaN, naming the field', async () => {
    const cases: [Partial<TrainConfig>, string][] = [
      [{ epochs: 0 }, 'train: epochs must be a whole number ≥ 1, got 0'],
      [{ epochs: NaN }, 'train: epochs must be a whole number ≥ 1, got NaN'],
      [{ epochs: 1.5 }, 'train: epochs must be a whole number ≥ 1, got 1.5'],
      [{ batchSize: 0 }, 'train: batch size must be a whole number ≥ 1, got 0'],
      [{ width: 0 }, 'train: width must be a whole number ≥ 1 (or left empty for the model\'s own), got 0'],
      [{ lr: 0 }, 'train: learning rate must be a number > 0, got 0'],
      [{ lr: NaN }, 'train: learning rate must be a number > 0, got NaN'],
      [{ seed: -1 }, 'train: seed must be a whole number ≥ 0, got -1'],
      [{ maxSteps: 0 }, 'train: maxSteps must be a whole number ≥ 1, got 0'],
    ];
    for (const [change, want] of cases) {
      expect(await errorOf(() => s.train({ ...cfg, ...change }, () => {}, () => {})), JSON.stringify(change)).toBe(want);
    }
    const r = await s.train(cfg, () => {}, () => {});
    expect(r.steps).toBe(1);
    expect(Number.isFinite(r.lastLoss)).toBe(true);
  });

  it('a damaged .tar.gz is reported as a damaged gzip file, not as "no images found"', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'pugd-session-'));
    const F = join(root, 'tests/fixtures/images');
    for (const [cls, f] of [['cat', 'baseline_420.jpg'], ['cat', 'rgb_8.png'], ['dog', 'gray.jpg']]) {
      mkdirSync(join(tmp, 'pets', cls), { recursive: true });
      copyFileSync(join(F, f), join(tmp, 'pets', cls, f));
    }
    execFileSync('tar', ['-czf', join(tmp, 'pets.tar.gz'), '-C', tmp, 'pets']);
    const good = readFileSync(join(tmp, 'pets.tar.gz'));
    const bad = Uint8Array.from(good);
    for (let i = 40; i < bad.length - 40; i += 7) bad[i] ^= 0x5a;
    const ok = await s.loadData({ kind: 'files', files: [new File([good], 'pets.tar.gz')], format: 'auto' });
    expect(ok).toMatchObject({ train: 3, classes: ['cat', 'dog'] });
    const msg = await errorOf(() => s.loadData({ kind: 'files', files: [new File([bad], 'pets.tar.gz')], format: 'auto' }));
    expect(msg).toMatch(/^pets\.tar\.gz: /);
    expect(msg).toMatch(/gzip|deflate|inflate|damaged|corrupt/i);
    expect(msg).not.toMatch(/no images found/);
    const truncated = await errorOf(() => s.loadData({ kind: 'files', files: [new File([good.subarray(0, good.length >> 1)], 'pets.tar.gz')], format: 'auto' }));
    expect(truncated).toBe(`pets.tar.gz: gzip: unexpected end of compressed data (at byte ${good.length >> 1})`);
    // Not gzip at all (the first bytes overwritten): named for what it is not.
    const garbage = Uint8Array.from(good);
    garbage.fill(7, 0, 16);
    expect(await errorOf(() => s.loadData({ kind: 'files', files: [new File([garbage], 'pets.tar.gz')], format: 'auto' })))
      .toBe('pets.tar.gz: not a gzip file (it starts with 07 07 07 07, not the gzip signature 1f 8b): damaged, or not what its name says');
    expect(await errorOf(() => s.loadData({ kind: 'files', files: [new File([new Uint8Array(2048)], 'pets.tar')], format: 'imagefolder' })))
      .toBe('pets.tar: not a tar archive (no ustar header at byte 257): damaged, or not what its name says');
  });
});
