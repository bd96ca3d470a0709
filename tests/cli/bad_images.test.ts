// An image folder with damaged files (issue 15 item 5): `pugd train` checks every image before the first
// step and stops with exit code 2 naming the file (no run folder is started); `--skip-bad-images`, which
// the error names, trains on the rest and lists what it left out (stderr, config.json, --json).
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `pugd-${p}-`));
const env = { ...process.env, PUGD_DATA: tmp('nodata') };
const pugd = (args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env, timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** A 16×16 colour JPEG whose content depends on `k` (jpeg-js, an independent encoder). */
function jpegImage(k: number): Uint8Array {
  const rgba = new Uint8Array(16 * 16 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * (k + 3) * 7 + k * 41) & 255));
  return new Uint8Array(jpeg.encode({ data: rgba, width: 16, height: 16 }, 90).data);
}

describe('pugd train on an image folder with damaged files', () => {
  const root = tmp('folder');
  const bad = ['train/cat/truncated.jpg', 'train/dog/notes.jpg', 'val/dog/empty.png'];
  beforeAll(() => {
    // 8 good images per class in train/, 4 in val/.
    let k = 0;
    for (const [split, n] of [['train', 8], ['val', 4]] as const) {
      for (const cls of ['cat', 'dog']) {
        mkdirSync(join(root, split, cls), { recursive: true });
        for (let i = 0; i < n; i++) writeFileSync(join(root, split, cls, `${i}.jpg`), jpegImage(k++));
      }
    }
    const jpg = jpegImage(99);
    writeFileSync(join(root, bad[0]), jpg.subarray(0, jpg.length - 300));
    writeFileSync(join(root, bad[1]), 'these are my notes, not a picture\n');
    writeFileSync(join(root, bad[2]), '');
  });
  const args = (out: string) => ['train', '--dataset', 'imagefolder', '--data', root, '--width', '2', '--batch-size', '4', '--epochs', '1', '--backend', 'wasm', '--out', out];

  it('stops before step 1 with exit 2, naming the first bad file and --skip-bad-images', () => {
    const out = join(tmp('bad'), 'run');
    const r = pugd(args(out));
    expect(r.code, r.stderr).toBe(2);
    const line = r.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain(`pugd: error: --data ${root}: an image cannot be read: `);
    expect(line).toMatch(/train\/cat\/truncated\.jpg: JPEG has no end-of-image marker \(truncated\) \(and 1 more of the 18 train images\)/);
    expect(line).toContain('give --skip-bad-images to train on the rest');
    expect(existsSync(out), 'no run folder is started').toBe(false);
  }, 120_000);

  it('--skip-bad-images trains on the rest and lists what it skipped', () => {
    const out = join(tmp('skip'), 'run');
    const r = pugd([...args(out), '--skip-bad-images', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('pugd: --skip-bad-images: left out 3 images that cannot be read:');
    for (const f of bad) expect(r.stderr).toContain(f);
    expect(r.stderr).toMatch(/notes\.jpg \(train\): not a JPEG or PNG file/);
    expect(r.stderr).toMatch(/empty\.png \(test\): empty file \(0 bytes\)/);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0].event).toBe('start');
    const listed = events.find((e) => e.event === 'skipped_images').images;
    expect(listed.map((x: { name: string }) => x.name.slice(x.name.indexOf(root) + root.length + 1))).toEqual(bad);
    expect(listed.map((x: { split: string }) => x.split)).toEqual(['train', 'train', 'test']);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect([config.trainImages, config.testImages, config.skipBadImages]).toEqual([16, 8, true]);
    expect(config.skippedImages.map((s: { split: string }) => s.split)).toEqual(['train', 'train', 'test']);
    // 16 good training images in batches of 4.
    expect(events.at(-1)).toMatchObject({ event: 'done', steps: 4 });
    // eval of the run leaves the same image out, as the run did.
    const ev = pugd(['eval', '--checkpoint', out, '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout)).toMatchObject({ images: 8, same_test_set: true });
  }, 180_000);
});
