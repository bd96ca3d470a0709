// The stale-kernel check (scripts/kernel_sources.mjs, run by vitest.config.ts before any test): the
// tests load the kernels embedded at build time, so an edit to wgsl/ or assembly/ without a rebuild
// must stop the run with "stale kernels: run npm run build" naming the file, never pass on the old copy.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KERNEL_SOURCES_MANIFEST, kernelSourceHashes, staleKernels } from '../../scripts/kernel_sources.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pugd-stale-'));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return dir;
}
function build(dir: string): void {
  mkdirSync(dirname(join(dir, KERNEL_SOURCES_MANIFEST)), { recursive: true });
  writeFileSync(join(dir, KERNEL_SOURCES_MANIFEST), JSON.stringify(kernelSourceHashes(dir)));
}

describe('stale kernels', () => {
  it('this checkout was built from the sources on disk', () => {
    expect(staleKernels(root)).toBeNull();
    const hashes = kernelSourceHashes(root);
    expect(Object.keys(hashes)).toContain('wgsl/relu.wgsl');
    expect(Object.keys(hashes)).toContain('assembly/relu.ts');
    expect(Object.keys(hashes)).toContain('assembly/data/jpeg.ts');
  });

  it('names an edited, added or deleted kernel source', () => {
    const dir = tree({ 'wgsl/relu.wgsl': 'fn a() {}', 'assembly/relu.ts': 'export function a(): void {}', 'assembly/data/x.ts': '' });
    try {
      expect(staleKernels(dir)).toMatch(/^stale kernels: run npm run build \(.*kernel_sources\.json is missing/);
      build(dir);
      expect(staleKernels(dir)).toBeNull();
      writeFileSync(join(dir, 'wgsl/relu.wgsl'), 'fn a() { }');
      expect(staleKernels(dir)).toBe('stale kernels: run npm run build (changed since the last build: wgsl/relu.wgsl)');
      build(dir);
      writeFileSync(join(dir, 'assembly/data/y.ts'), '');
      unlinkSync(join(dir, 'assembly/relu.ts'));
      expect(staleKernels(dir)).toBe('stale kernels: run npm run build (changed since the last build: assembly/data/y.ts (new), assembly/relu.ts (deleted))');
      build(dir);
      expect(staleKernels(dir)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
