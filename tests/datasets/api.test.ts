// The datasets API as outside checks use it: `import { datasets } from 'pugd'` (the built package,
// dist/index.js), decodeImage / readIdx / readCifar with the signatures.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { projectRoot } from './data_dir.js';

const entry = new URL('../../dist/index.js', import.meta.url);

describe('datasets in the public API', () => {
  it('decodeImage, readIdx and readCifar from the built package', async () => {
    const { datasets } = await import(entry.href);
    const F = join(projectRoot, 'tests/fixtures/images');
    const img = datasets.decodeImage(new Uint8Array(readFileSync(join(F, 'rgba_8.png'))));
    expect(Object.keys(img).sort()).toEqual(['channels', 'data', 'height', 'width']);
    expect([img.width, img.height, img.channels, img.data.length]).toEqual([13, 11, 4, 13 * 11 * 4]);
    expect(img.data).toBeInstanceOf(Uint8Array);
    const jpg = datasets.decodeImage(new Uint8Array(readFileSync(join(F, 'gray.jpg'))));
    expect([jpg.width, jpg.height, jpg.channels]).toEqual([37, 29, 1]);
    let err: unknown;
    try {
      datasets.decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 3, 8]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^JPEG: SOF segment too short \(at byte 6\)$/);

    const labels = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]);
    expect([...datasets.readIdx(labels).labels]).toEqual([7, 2, 1]);
    expect([...datasets.readIdx(zlib.gzipSync(labels)).labels]).toEqual([7, 2, 1]);
    const rec = new Uint8Array(2 * 3074);
    rec[0] = 4; // coarse
    rec[1] = 42; // fine
    rec[3074] = 19;
    rec[3075] = 99;
    rec[2] = 200; // first R pixel
    const c = datasets.readCifar(rec, { labelBytes: 2 });
    expect([c.count, [...c.labels], [...c.coarseLabels], c.images[0]]).toEqual([2, [42, 99], [4, 19], 200]);
  });
});
