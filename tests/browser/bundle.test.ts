// The browser bundle as a page gets it (dist/pugd.browser.js, named by the `browser` condition of
// package.json exports["."]): one ES module with no Node built-ins and no Dawn import, exposing the
// Node entry's public API less its Node-only helpers. What it does in Chromium is checked by
// tests/browser/bundle.browser.test.ts and tests/browser/chrome_webgpu.test.ts.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';

const dist = new URL('../../dist/', import.meta.url);
const NODE_ONLY = ['ensureSoftwareAdapterEnv', 'applySoftwareAdapterEnv', 'prepareSoftwareAdapterEnv'];

describe('browser bundle (dist/pugd.browser.js)', () => {
  it('is what package.json names for the browser condition', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(pkg.exports['.'].browser).toBe('./dist/pugd.browser.js');
    expect(pkg.exports['.'].default).toBe('./dist/index.js');
  });

  it('imports no Node built-in and not Dawn (webgpu) statically', () => {
    const js = readFileSync(new URL('pugd.browser.js', dist), 'utf8');
    const staticImports = [...js.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm)].map((m) => m[1]);
    expect(staticImports, 'static imports of the bundle').toEqual([]);
    expect(js).not.toMatch(/\bimport\(\s*["'](node:|webgpu["'])/);
    expect(js).not.toMatch(/\brequire\(\s*["']/);
  });

  it('exports the same public API as the Node entry, less the Node-only helpers', async () => {
    const browser = Object.keys(await import(new URL('pugd.browser.js', dist).href)).sort();
    const node = Object.keys(await import(new URL('index.js', dist).href)).sort();
    expect(browser).toEqual(node.filter((k) => !NODE_ONLY.includes(k)));
    for (const k of NODE_ONLY) expect(node).toContain(k);
  });
});
