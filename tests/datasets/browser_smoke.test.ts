// The datasets API in headless Chromium (scripts/browser_smoke.mjs, run as is): a JPEG decode,
// ImageFolder from a tar.gz as a Blob and as a URL, a File[] directory pick, and DataLoader batches
// assembled by 2 Web Workers, bit-identical to Node's — in a cross-origin-isolated page
// (SharedArrayBuffer store) and in one that is not. Chromium: scripts/chromium.ts (vitest.config.ts
// hands its path over in PUGD_CHROMIUM). Skipped only with PUGD_SKIP_BROWSER=1, and says so.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { browserSkipped, findChromium } from '../../scripts/chromium.js';

const skip = browserSkipped();
if (skip) console.log('tests/datasets/browser_smoke.test.ts: SKIPPED (PUGD_SKIP_BROWSER=1)');

describe.skipIf(skip)('datasets in headless Chromium (scripts/browser_smoke.mjs)', () => {
  it('decodes, reads archives and pickers, and loads batches with Web Workers as Node does', async () => {
    const chrome = process.env.PUGD_CHROMIUM ?? (await findChromium()).path;
    const r = spawnSync(process.execPath, [fileURLToPath(new URL('../../scripts/browser_smoke.mjs', import.meta.url))], {
      env: { ...process.env, CHROME_PATH: chrome },
      encoding: 'utf8',
      timeout: 180_000,
    });
    const out = `${r.stdout}${r.stderr}`;
    const failed = out.split('\n').filter((l) => l.startsWith('FAIL'));
    expect(failed, out).toEqual([]);
    expect(out).toMatch(/^ok\s+\[isolated\]/m);
    expect(out).toMatch(/^ok\s+\[not isolated\]/m);
    expect(r.status, out).toBe(0);
  }, 200_000);
});
