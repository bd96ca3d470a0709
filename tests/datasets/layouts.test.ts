// Layouts on small synthetic trees written to a temp folder: ImageFolder and Tiny ImageNet from a
// folder, a tar (GNU, pax and ustar headers, made by the system's tar) and a tar.gz; CIFAR-10/100
// from their official archive layout; IDX errors. Pixels are checked against decoding the same fixture
// file directly, labels against the layout rules (classes sorted by name, as torchvision).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, copyFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import zlib from 'node:zlib';
import * as datasets from '../../datasets/index.js';
import { Generator } from '../../engine/random.js';
import { projectRoot } from './data_dir.js';

const F = join(projectRoot, 'tests/fixtures/images');
let tmp = '';
const LONG = `${'very-long-file-name-'.repeat(6)}end.png`; // > 100 bytes: needs GNU/pax long names

function put(rel: string, src: string | Uint8Array): void {
  const p = join(tmp, rel);
  mkdirSync(dirname(p), { recursive: true });
  if (typeof src === 'string') copyFileSync(join(F, src), p);
  else writeFileSync(p, src);
}

function tarOf(dir: string, out: string, ...flags: string[]): string {
  execFileSync('tar', [...flags, '-cf', join(tmp, out), '-C', tmp, dir]);
  return join(tmp, out);
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pugd-layouts-'));
  // ImageFolder: classes sort by code point ('Apple' < 'cat' < 'zebra'); nested files count; others skipped.
  put('folder/zebra/b.png', 'rgb_8_filter1.png');
  put('folder/zebra/a.jpg', 'baseline_420.jpg');
  put('folder/Apple/x.png', 'rgba_8.png');
  put('folder/cat/ok.jpeg', 'gray.jpg');
  put('folder/cat/sub/deep.jpg', 'progressive_420.jpg');
  put(`folder/cat/${LONG}`, 'palette_8.png');
  put('folder/cat/readme.txt', new TextEncoder().encode('not an image'));
  // Tiny ImageNet.
  put('tiny/tiny-imagenet-200/wnids.txt', new TextEncoder().encode('n02\nn01\n'));
  put('tiny/tiny-imagenet-200/train/n01/images/n01_0.JPEG', 'baseline_444.jpg');
  put('tiny/tiny-imagenet-200/train/n01/images/n01_1.JPEG', 'gray.jpg');
  put('tiny/tiny-imagenet-200/train/n02/images/n02_0.JPEG', 'baseline_422.jpg');
  put('tiny/tiny-imagenet-200/train/n02/n02_boxes.txt', new TextEncoder().encode('n02_0.JPEG\t0\t0\t10\t10\n'));
  put('tiny/tiny-imagenet-200/val/images/val_0.JPEG', 'baseline_420.jpg');
  put('tiny/tiny-imagenet-200/val/images/val_1.JPEG', 'baseline_444.jpg');
  put('tiny/tiny-imagenet-200/val/val_annotations.txt', new TextEncoder().encode('val_0.JPEG\tn02\t0\t0\t5\t5\nval_1.JPEG\tn01\t1\t1\t6\t6\n'));
  put('tiny-noann/tiny-imagenet-200/wnids.txt', new TextEncoder().encode('n01\n'));
  put('tiny-noann/tiny-imagenet-200/val/images/val_0.JPEG', 'baseline_420.jpg');
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const decoded = (fixture: string) => datasets.decodeImage(readFileSync(join(F, fixture)));

describe('ImageFolder', () => {
  const expected: [string, number, string][] = [
    ['Apple/x.png', 0, 'rgba_8.png'],
    ['cat/ok.jpeg', 1, 'gray.jpg'],
    ['cat/sub/deep.jpg', 1, 'progressive_420.jpg'],
    [`cat/${LONG}`, 1, 'palette_8.png'],
    ['zebra/a.jpg', 2, 'baseline_420.jpg'],
    ['zebra/b.png', 2, 'rgb_8_filter1.png'],
  ];
  const check = (ds: datasets.ImageDataset) => {
    expect(ds.classes).toEqual(['Apple', 'cat', 'zebra']);
    expect(ds.length).toBe(expected.length);
    expected.forEach(([path, label, fixture], i) => {
      expect(ds.sampleName(i).endsWith(path), `${ds.sampleName(i)} vs ${path}`).toBe(true);
      expect(ds.label(i)).toBe(label);
      expect(Buffer.from(ds.image(i).data).equals(Buffer.from(decoded(fixture).data))).toBe(true);
    });
  };
  it('from a folder', async () => check(await datasets.imageFolder(join(tmp, 'folder'))));
  it('from a GNU tar (long names), a pax tar, a ustar tar and a tar.gz, the top folder entered', async () => {
    check(await datasets.imageFolder(tarOf('folder', 'gnu.tar', '--format=gnu')));
    check(await datasets.imageFolder(tarOf('folder', 'pax.tar', '--format=pax')));
    check(await datasets.imageFolder(readFileSync(tarOf('folder', 'f.tar.gz', '-z'))));
    // ustar splits long paths into prefix + name (each component ≤ 100 bytes).
    const deep = `k/${'d'.repeat(90)}/${'e'.repeat(60)}.png`;
    put(`ufolder/${deep}`, 'gray_alpha_8.png');
    const u = await datasets.imageFolder(tarOf('ufolder', 'ustar.tar', '--format=ustar'));
    expect(u.length).toBe(1);
    expect(u.sampleName(0).endsWith(deep)).toBe(true);
    expect(Buffer.from(u.image(0).data).equals(Buffer.from(decoded('gray_alpha_8.png').data))).toBe(true);
  });
  it('explains an empty or missing root', async () => {
    await expect(datasets.imageFolder(join(tmp, 'nope'))).rejects.toThrow(/nope: not found/);
    await expect(datasets.imageFolder(join(tmp, 'folder'), { root: 'zzz' })).rejects.toThrow(/no images found in <class>\/ folders/);
  });
});

describe('Tiny ImageNet', () => {
  const check = async (src: string) => {
    const train = await datasets.tinyImageNet(src);
    expect(train.classes).toEqual(['n01', 'n02']);
    expect([...Array(train.length).keys()].map((i) => train.label(i))).toEqual([0, 0, 1]);
    expect(Buffer.from(train.image(2).data).equals(Buffer.from(decoded('baseline_422.jpg').data))).toBe(true);
    const val = await datasets.tinyImageNet(src, { split: 'val' });
    expect([val.label(0), val.label(1)]).toEqual([1, 0]);
    expect(Buffer.from(val.image(0).data).equals(Buffer.from(decoded('baseline_420.jpg').data))).toBe(true);
  };
  it('from the folder', () => check(join(tmp, 'tiny')));
  it('from a tar.gz', () => check(tarOf('tiny', 'tiny.tar.gz', '-z')));
  it('a missing annotations file is an error naming it', async () => {
    await expect(datasets.tinyImageNet(join(tmp, 'tiny-noann'), { split: 'val' })).rejects.toThrow(/val\/val_annotations\.txt: Tiny ImageNet: missing annotations file/);
  });
});

function cifarRecords(g: Generator, n: number, labelBytes: 1 | 2): { bytes: Uint8Array; labels: number[][] } {
  const rec = 3072 + labelBytes;
  const bytes = new Uint8Array(n * rec);
  const labels: number[][] = [];
  for (let i = 0; i < n; i++) {
    const l = labelBytes === 1 ? [g.int(10)] : [g.int(20), g.int(100)];
    labels.push(l);
    bytes.set(l, i * rec);
    for (let k = 0; k < 3072; k++) bytes[i * rec + labelBytes + k] = g.nextU32() & 255;
  }
  return { bytes, labels };
}

describe('CIFAR layouts', () => {
  it('CIFAR-10 from cifar-10-binary.tar.gz and the extracted folder: batches 1..5 in order, test batch', async () => {
    const g = new Generator(5);
    const batches = [1, 2, 3, 4, 5].map(() => cifarRecords(g, 3, 1));
    const testB = cifarRecords(g, 2, 1);
    batches.forEach((b, i) => put(`c10/cifar-10-batches-bin/data_batch_${i + 1}.bin`, b.bytes));
    put('c10/cifar-10-batches-bin/test_batch.bin', testB.bytes);
    put('c10/cifar-10-batches-bin/batches.meta.txt', new TextEncoder().encode(datasets.CIFAR10_CLASSES.join('\n') + '\n\n'));
    execFileSync('tar', ['-czf', join(tmp, 'cifar-10-binary.tar.gz'), '-C', join(tmp, 'c10'), 'cifar-10-batches-bin']);
    for (const src of [join(tmp, 'cifar-10-binary.tar.gz'), join(tmp, 'c10/cifar-10-batches-bin')]) {
      const train = await datasets.cifar10(src);
      expect(train.length).toBe(15);
      expect([...Array(15).keys()].map((i) => train.label(i))).toEqual(batches.flatMap((b) => b.labels.map((l) => l[0])));
      expect(Buffer.from(train.bytes(7)).equals(Buffer.from(batches[2].bytes.subarray(3073 + 1, 2 * 3073)))).toBe(true);
      const test = await datasets.cifar10(src, { train: false });
      expect([test.label(0), test.label(1)]).toEqual(testB.labels.map((l) => l[0]));
      expect(train.classes).toEqual(datasets.CIFAR10_CLASSES);
    }
  });
  it('CIFAR-100: fine and coarse labels, label names, range checks', async () => {
    const g = new Generator(6);
    const tr = cifarRecords(g, 4, 2);
    put('c100/cifar-100-binary/train.bin', tr.bytes);
    put('c100/cifar-100-binary/test.bin', cifarRecords(g, 1, 2).bytes);
    put('c100/cifar-100-binary/coarse_label_names.txt', new TextEncoder().encode(Array.from({ length: 20 }, (_, i) => `c${i}`).join('\n')));
    put('c100/cifar-100-binary/fine_label_names.txt', new TextEncoder().encode(Array.from({ length: 100 }, (_, i) => `f${i}`).join('\n')));
    const tgz = zlib.gzipSync(execFileSync('tar', ['-cf', '-', '-C', join(tmp, 'c100'), 'cifar-100-binary']));
    const fine = await datasets.cifar100(tgz);
    const coarse = await datasets.cifar100(tgz, { labels: 'coarse' });
    expect([0, 1, 2, 3].map((i) => fine.label(i))).toEqual(tr.labels.map((l) => l[1]));
    expect([0, 1, 2, 3].map((i) => coarse.label(i))).toEqual(tr.labels.map((l) => l[0]));
    expect(fine.classes[99]).toBe('f99');
    expect(coarse.classes[19]).toBe('c19');
    const bad = Uint8Array.from(tr.bytes);
    bad[3074 + 1] = 100;
    expect(() => datasets.readCifar(bad, { labelBytes: 2, name: 'train.bin' })).toThrow(/^train\.bin: CIFAR-100: fine label 100 out of range 0\.\.99 in record 1 \(at byte 3075\)/);
  });
});

describe('IDX errors', () => {
  const idx = (magic: number[], dims: number[], n: number) => {
    const b = new Uint8Array(4 + dims.length * 4 + n);
    b.set(magic);
    const dv = new DataView(b.buffer);
    dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d));
    return b;
  };
  it('reads a valid file and names each kind of bad one', () => {
    const ok = datasets.readIdx(idx([0, 0, 8, 3], [2, 3, 4], 24));
    expect(ok.dims).toEqual([2, 3, 4]);
    expect(ok.images!.length).toBe(24);
    expect(() => datasets.readIdx(idx([0, 1, 8, 1], [3], 3), { name: 'l.idx' })).toThrow(/^l\.idx: IDX: wrong magic number \(not an IDX file\) \(at byte 0\)/);
    expect(() => datasets.readIdx(idx([0, 0, 0x0d, 1], [3], 12))).toThrow(/IDX: element type 0x13 not supported/);
    expect(() => datasets.readIdx(idx([0, 0, 8, 3], [60000, 28, 28], 100))).toThrow(/IDX: holds 100 bytes of data, the header says 47040000/);
    expect(() => datasets.readIdx(idx([0, 0, 8, 3], [0xffffffff, 0xffffffff, 2], 10))).toThrow(/IDX: sizes multiply to more than 4 GiB/);
    expect(() => datasets.readIdx(new Uint8Array([0, 0]))).toThrow(/IDX: truncated/);
  });
});
