// The browser bundle as a page gets it (dist/pugd.browser.js, named by the `browser` condition of
// package.json exports["."]): one ES module with no Node built-ins and no Dawn import, exposing the
// Node entry's public API less its Node-only helpers. What it does in Chromium is checked by
// tests/browser/bundle.browser.test.ts and tests/browser/chrome_webgpu.test.ts.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../../dist/', import.meta.url);
const NODE_ONLY = ['ensureSoftwareAdapterEnv', 'reexecWithSoftwareAdapter', 'applySoftwareAdapterEnv', 'prepareSoftwareAdapterEnv'];

describe('browser bundle (dist/pugd.browser.js)', () => {
  it('is what package.json names for the browser condition', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(pkg.exports['.'].browser).toBe('./dist/pugd.browser.js');
    expect(pkg.exports['.'].default).toBe('./dist/index.js');
  });

  it('imports nothing: no Node built-in, not Dawn (webgpu), no other module', async () => {
    // esbuild's own record of the output's imports (static and dynamic ones it could resolve); the
    // Node-only paths' built-ins are stub modules inside the bundle, and a dynamic import of a
    // computed name (Dawn, behind a Node check) is not an import of the bundle.
    const esbuild = await import('esbuild');
    const { bundles } = await import('../../esbuild.config.mjs');
    const cfg = bundles.find((b) => JSON.stringify(b.entryPoints).includes('browser.ts'))!;
    const r = await esbuild.build({ ...cfg, absWorkingDir: fileURLToPath(new URL('../..', import.meta.url)), write: false, metafile: true, logLevel: 'silent' });
    const out = Object.entries(r.metafile!.outputs).find(([k]) => k.endsWith('pugd.browser.js'))!;
    expect(out[1].imports, 'imports of dist/pugd.browser.js').toEqual([]);
    const inputs = Object.keys(r.metafile!.inputs);
    expect(inputs.filter((i) => i.includes('node_modules/webgpu')), 'Dawn bundled in').toEqual([]);
    // The file on disk is that build's output (npm test builds before testing).
    expect(readFileSync(new URL('pugd.browser.js', dist), 'utf8')).toBe(r.outputFiles!.find((f) => f.path.endsWith('pugd.browser.js'))!.text);
  });

  it('exports the same public API as the Node entry, less the Node-only helpers', async () => {
    const browser = Object.keys(await import(new URL('pugd.browser.js', dist).href)).sort();
    const node = Object.keys(await import(new URL('index.js', dist).href)).sort();
    expect(browser).toEqual(node.filter((k) => !NODE_ONLY.includes(k)));
    for (const k of NODE_ONLY) expect(node).toContain(k);
  });
});
