// The browser bundle (dist/pugd.browser.js, built by `npm test`) on `navigator.gpu` in headless
// Chromium: a page served from 127.0.0.1 runs the same computation on the webgpu and wasm backends
// (conv2d forward and backward, matmul, batch-norm, cross-entropy, 15 SGD steps of a small net) and
// posts the numbers back; this test compares them (rtol 1e-4 + 1e-5·max, as the Node cross-backend
// suite) and checks the adapter the page saw. Chromium comes from the devDependency
// @sparticuz/chromium (unpacked on first use), or CHROME_PATH. No Playwright: a local HTTP server and
// one child process. Skipped only with PUGD_SKIP_WEBGPU=1 or PUGD_SKIP_BROWSER=1, and says so.
import { describe, it, expect } from 'vitest';
import { createServer } from 'node:http';
import { readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { expectClose } from '../harness.js';

const skip = process.env.PUGD_SKIP_WEBGPU === '1' || process.env.PUGD_SKIP_BROWSER === '1';
if (skip) console.log('tests/browser/chrome_webgpu.test.ts: SKIPPED (PUGD_SKIP_WEBGPU=1 or PUGD_SKIP_BROWSER=1)');

const bundle = new URL('../../dist/pugd.browser.js', import.meta.url);

// Runs in the page. Kept dependency-free; every number it returns is compared across backends.
const pageScript = `
import * as p from '/pugd.browser.js';
const out = { info: {}, runs: {} };
try {
  for (const be of ['webgpu', 'wasm']) {
    await p.setBackend(be);
    out.info[be] = p.getBackend().info;
    const g = new p.Generator(7);
    const F = p.nn.functional;
    const r = {};
    const x = p.randn([3, 4, 9, 7], { generator: g });
    const w = p.randn([6, 4, 3, 3], { generator: g, requiresGrad: true });
    const gamma = p.ones([6], { requiresGrad: true });
    const beta = p.zeros([6], { requiresGrad: true });
    const fc = p.randn([5, 6], { generator: g, requiresGrad: true });
    const labels = p.tensor([0, 3, 4], [3], { dtype: 'i32' });
    const y = p.tidy(() => F.conv2d(x, w, null, { stride: 1, padding: 1 }));
    r.conv = Array.from(await y.toArray());
    const loss = p.tidy(() => {
      const h = F.relu(F.batchNorm2d(y, gamma, beta, null, null, { training: true }));
      const f = F.globalAvgPool2d(h).flatten();
      return F.crossEntropy(F.linear(f, fc), labels, { labelSmoothing: 0.1 });
    });
    r.loss0 = await loss.item();
    loss.backward();
    r.dw = Array.from(await w.grad.toArray());
    r.dfc = Array.from(await fc.grad.toArray());
    r.dgamma = Array.from(await gamma.grad.toArray());
    const params = [w, gamma, beta, fc];
    r.losses = [];
    for (let i = 0; i < 15; i++) {
      for (const t of params) t.grad = null;
      const l = p.tidy(() => {
        const h = F.relu(F.batchNorm2d(F.conv2d(x, w, null, { padding: 1 }), gamma, beta, null, null, { training: true }));
        return F.crossEntropy(F.linear(F.globalAvgPool2d(h).flatten(), fc), labels);
      });
      l.backward();
      r.losses.push(await l.item());
      l.dispose();
      p.noGrad(() => { for (const t of params) { const u = p.tidy(() => t.sub(t.grad.mul(0.2))); t.assign(u); u.dispose(); } });
    }
    for (const t of [x, w, gamma, beta, fc, labels, y, loss]) t.dispose();
    out.runs[be] = r;
  }
} catch (e) {
  out.error = String(e && e.stack || e);
}
await fetch('/result', { method: 'POST', body: JSON.stringify(out) });
`;

async function chromePath(): Promise<string> {
  if (process.env.CHROME_PATH) return process.env.CHROME_PATH;
  try {
    const m = (await import('@sparticuz/chromium')) as unknown as { default: { executablePath(): Promise<string> } };
    return await m.default.executablePath();
  } catch (e) {
    if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
    throw new Error(`no Chromium: @sparticuz/chromium could not be unpacked (${(e as Error).message}) and /usr/bin/chromium is missing; run npm install, or set CHROME_PATH`);
  }
}

type PageResult = { info: Record<string, { name: string; description: string; adapter?: { vendor: string; architecture: string } }>; runs: Record<string, Record<string, number | number[]>>; error?: string };

/**
 * Best-effort removal of a temporary Chromium profile. Chromium's helper processes can still be writing
 * into it for a moment after the main process exits (rmdir then fails with ENOTEMPTY); a leftover
 * temporary directory is harmless, an exception thrown from an 'exit' handler fails the whole run.
 */
function removeProfile(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  } catch {
    // left in the OS temporary directory
  }
}

async function runPage(): Promise<PageResult> {
  const js = readFileSync(bundle);
  const exe = await chromePath();
  const profile = mkdtempSync(join(tmpdir(), 'pugd-chrome-'));
  let log = '';
  return await new Promise<PageResult>((resolve, reject) => {
    let child: ReturnType<typeof spawn> | null = null;
    const done = (f: () => void) => {
      clearTimeout(timer);
      server.close();
      if (child && child.exitCode === null) {
        // Remove the profile once Chromium has really exited (it writes its cache until then).
        child.once('exit', () => removeProfile(profile));
        child.kill('SIGKILL');
      } else {
        removeProfile(profile);
      }
      f();
    };
    const server = createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/result') {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          res.end('ok');
          done(() => resolve(JSON.parse(body)));
        });
        return;
      }
      if (req.url === '/pugd.browser.js') {
        res.setHeader('content-type', 'text/javascript');
        res.end(js);
        return;
      }
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><meta charset="utf-8"><script type="module">${pageScript}</script>`);
    });
    const timer = setTimeout(() => done(() => reject(new Error(`Chromium (${exe}) did not report within 90 s; its stderr:\n${log.slice(-3000)}`))), 90_000);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      child = spawn(exe, [
        '--headless=new', '--no-sandbox', '--disable-gpu-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan',
        '--enable-logging=stderr', '--v=0', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic',
        `--user-data-dir=${profile}`, `http://127.0.0.1:${port}/`,
      ], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr?.on('data', (d) => (log += String(d)));
      child.on('error', (e) => done(() => reject(new Error(`could not start Chromium (${exe}): ${e.message}`))));
    });
  });
}

const maxAbs = (a: number[]) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const close = (label: string, a: number[], b: number[]) => expectClose(label, a, b, { rtol: 1e-4, atol: 1e-5 * maxAbs(b) });

describe.skipIf(skip)('browser bundle in headless Chromium (navigator.gpu)', () => {
  it('runs on the WebGPU adapter and agrees with wasm in the same page', async () => {
    expect(existsSync(bundle), 'dist/pugd.browser.js (npm test builds it)').toBe(true);
    const r = await runPage();
    if (r.error) throw new Error(`page error: ${r.error}`);
    console.log(`chrome: ${r.info.webgpu.description}; losses ${(r.runs.webgpu.losses as number[]).map((v) => v.toFixed(4)).join(' ')}`);
    expect(r.info.webgpu.name).toBe('webgpu');
    expect(r.info.webgpu.adapter?.vendor, 'adapter seen by the page').toBeTruthy();
    const [gpu, cpu] = [r.runs.webgpu, r.runs.wasm];
    for (const k of ['conv', 'dw', 'dfc', 'dgamma', 'losses'] as const) close(`chrome ${k}`, gpu[k] as number[], cpu[k] as number[]);
    close('chrome loss0', [gpu.loss0 as number], [cpu.loss0 as number]);
    const losses = gpu.losses as number[];
    expect(losses[14]).toBeLessThan(losses[0]);
  }, 120_000);
});
