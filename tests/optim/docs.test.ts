// docs/pugd.md maps each PUGD step to source lines with links of the form [`code`](../path#Ln); this
// keeps the map honest: every linked file exists and its line n still holds that code.
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);

describe('docs/pugd.md', () => {
  const doc = readFileSync(new URL('docs/pugd.md', root), 'utf8');
  const links = [...doc.matchAll(/\[`([^`]+)`\]\(\.\.\/([^#)]+)#L(\d+)\)/g)];

  it('links the TypeScript, WGSL and AssemblyScript of the algorithm', () => {
    const files = new Set(links.map((m) => m[2]));
    for (const f of ['engine/optim/pugd.ts', 'engine/optim/optimizer.ts', 'engine/optim/sgd.ts', 'wgsl/optim.wgsl', 'assembly/optim.ts', 'engine/ops/optim.ts']) {
      expect(files, `docs/pugd.md links ${f}`).toContain(f);
    }
  });

  it('every linked line still holds the code quoted in the link', () => {
    const stale: string[] = [];
    for (const [, code, path, line] of links) {
      const url = new URL(path, root);
      if (!existsSync(url)) {
        stale.push(`${path} does not exist`);
        continue;
      }
      const text = readFileSync(url, 'utf8').split('\n')[Number(line) - 1] ?? '';
      if (!text.includes(code)) stale.push(`${path}:${line} no longer holds \`${code}\` (it reads: ${text.trim()})`);
    }
    expect(stale, 'docs/pugd.md links to moved code; run `node scripts/relink_docs.mjs` (it moves links whose code moved and lists those that need rewording)').toEqual([]);
  });
});
