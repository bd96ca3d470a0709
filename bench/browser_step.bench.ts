// The ResNet-20 training step in headless Chromium vs the same step in Node, on the same kind of
// adapter: WebGPU (navigator.gpu in Chromium, Dawn's `webgpu` package in Node; SwiftShader on a
// GPU-less machine for both) and WASM (2 threads each: Node's worker_threads, and Web Workers in a
// cross-origin-isolated page). The step is bench/step_core.ts, one source for both sides; in Chromium
// it runs in a Web Worker, where the training page trains. Steps
// alternate between Node and the browser so machine load hits both alike. One JSON line per backend
// and side (median and best step), then the browser/Node ratio (target: the browser within 20%).
//
// Usage: node bench/run.mjs browser_step   (env: BENCH_BATCH=8  BENCH_REPS (5 webgpu, 20 wasm)  BENCH_OPT=sgd|pugd
// BENCH_BACKENDS=webgpu,wasm; Chromium as for the tests: CHROME_PATH, Debian's, @sparticuz/chromium)
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright';
import { ensureSoftwareAdapterEnv } from '../engine/backends/webgpu_node_env.js';
import { findChromium, CHROMIUM_ARGS, ISOLATION_HEADERS } from '../scripts/chromium.js';
import { enginePlugin } from '../esbuild.config.mjs';
import { emit, median } from './common.js';
import type { StepHandle, StepInfo, StepSetup } from './step_core.js';

ensureSoftwareAdapterEnv();

const root = process.cwd();
const batch = Number(process.env.BENCH_BATCH ?? 8);
// WASM steps are short (tens of ms), so more of them: the median must outlast the machine's noise.
const repsFor = (b: string) => Number(process.env.BENCH_REPS ?? (b === 'wasm' ? 20 : 5));
const warmup = 3;
const optimizer = (process.env.BENCH_OPT ?? 'sgd') as StepSetup['optimizer'];
const backends = (process.env.BENCH_BACKENDS ?? 'webgpu,wasm').split(',') as StepSetup['backend'][];

const pugd = await import('../node.js');
const { setupSteps } = await import('./step_core.js');
const { disposeBackend } = await import('../engine/backend.js');

// The browser side runs in a Web Worker, as the training page trains (a page's main thread may not
// block in Atomics.wait, so WASM threads would spin there): step_core bundled into a worker script
// against the served engine bundle (one engine instance).
const core = await esbuild.build({
  stdin: {
    contents: `import * as p from './browser.js';
      import { setupSteps } from './bench/step_core.ts';
      let h = null;
      self.onmessage = async (e) => {
        try {
          if (e.data.setup) { h?.dispose(); h = await setupSteps(p, e.data.setup); self.postMessage({ ok: h.info }); }
          else self.postMessage({ ok: await h.step() });
        } catch (err) { self.postMessage({ error: String(err?.stack ?? err) }); }
      };`,
    resolveDir: root, sourcefile: 'bench-worker.js', loader: 'js',
  },
  bundle: true, write: false, format: 'esm', platform: 'browser', target: 'es2022', plugins: [enginePlugin], absWorkingDir: root, logLevel: 'warning',
});
const files: Record<string, [string | Buffer, string]> = {
  '/': ['<!doctype html><meta charset="utf-8"><title>pugd step bench</title>', 'text/html'],
  '/pugd.browser.js': [readFileSync(join(root, 'dist/pugd.browser.js')), 'text/javascript'],
  '/bench-worker.js': [core.outputFiles[0].text, 'text/javascript'],
};
const server = createServer((req, res) => {
  const f = files[new URL(req.url ?? '/', 'http://x').pathname];
  for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
  if (!f) {
    res.statusCode = 404;
    res.end();
    return;
  }
  res.setHeader('Content-Type', f[1]);
  res.end(f[0]);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;

const exe = await findChromium();
const browser = await chromium.launch({ executablePath: exe.path, args: [...CHROMIUM_ARGS], headless: true });
const page = await browser.newPage();
await page.goto(url);
await page.evaluate(`(() => {
  const w = new Worker('/bench-worker.js', { type: 'module' });
  globalThis.call = (msg) => new Promise((resolve, reject) => {
    w.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data.ok));
    w.postMessage(msg);
  });
})()`);

type Side = { info: StepInfo; ms: number[]; losses: number[] };
try {
  for (const backend of backends) {
    const setup: StepSetup = { backend, batch, optimizer };
    const node: StepHandle = await setupSteps(pugd, setup);
    const bInfo = (await page.evaluate(`call({ setup: ${JSON.stringify(setup)} })`)) as StepInfo;
    const sides: Record<'node' | 'browser', Side> = { node: { info: node.info, ms: [], losses: [] }, browser: { info: bInfo, ms: [], losses: [] } };
    const browserStep = () => page.evaluate('call({ step: true })') as Promise<[number, number]>;
    // Warm-up steps on each side (pipelines, allocations, V8's optimizing tier for the WASM), then alternate.
    for (let i = 0; i < warmup; i++) {
      await node.step();
      await browserStep();
    }
    for (let r = 0; r < repsFor(backend); r++) {
      for (const [side, run] of [['node', () => node.step()], ['browser', browserStep]] as const) {
        const [ms, loss] = await run();
        sides[side].ms.push(ms);
        sides[side].losses.push(loss);
      }
    }
    node.dispose();
    if (backend === 'webgpu') disposeBackend('webgpu');
    for (const side of ['node', 'browser'] as const) {
      const s = sides[side];
      emit({
        bench: 'browser_step', side, model: 'resnet20', optimizer, batch, backend: s.info.backend, adapter: s.info.adapter, threads: s.info.threads,
        crossOriginIsolated: side === 'browser' ? s.info.crossOriginIsolated : undefined, median_ms: +median(s.ms).toFixed(1), best_ms: +Math.min(...s.ms).toFixed(1),
        images_per_s: +((batch * 1000) / median(s.ms)).toFixed(2), steps: s.ms.length, loss_first: s.losses[0], chromium: side === 'browser' ? `${exe.source} ${browser.version()}` : undefined,
      });
    }
    const ratio = median(sides.browser.ms) / median(sides.node.ms);
    emit({ bench: 'browser_step', ratio: 'browser/node', backend, optimizer, batch, median_ratio: +ratio.toFixed(3), best_ratio: +(Math.min(...sides.browser.ms) / Math.min(...sides.node.ms)).toFixed(3), within_20_percent: ratio <= 1.2 });
  }
} finally {
  await browser.close();
  server.close();
}
process.exit(0);
