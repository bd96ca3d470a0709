// End-to-end: the training page (web/, served by web/serve.mjs as `npm run web` serves it) driven in
// headless Chromium by Playwright. It loads the page, checks the backend it shows (the WebGPU adapter's
// name and that it is a fallback adapter here), trains a ResNet with PUGD on the built-in sample until
// the loss has fallen while the page keeps painting frames, pauses and resumes, checks both charts were
// drawn, saves a screenshot (out/screenshots/training-page.png), and moves checkpoints both ways:
// downloaded from the page and evaluated in Node, trained in Node and evaluated in the page — the same
// accuracy on the same 200 test images either way. Node runs the same TrainingSession class
// (web/session.ts) the page's worker runs, on WASM; the page runs on navigator.gpu.
//
// Chromium: scripts/chromium.ts. Skipped only with PUGD_SKIP_BROWSER=1 (said below).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright';
import { findChromium, CHROMIUM_ARGS, browserSkipped } from '../../scripts/chromium.js';
import { startServer } from '../../web/serve.mjs';
import { TrainingSession } from '../../web/session.js';
import type { EvalReport, TrainConfig } from '../../web/protocol.js';
import { dataDir, requireData } from '../datasets/data_dir.js';

const skip = browserSkipped();
if (skip) console.log('tests/browser/page.test.ts: SKIPPED (PUGD_SKIP_BROWSER=1)');

const root = join(import.meta.dirname, '../..');
// Small enough to train in seconds on SwiftShader or 2 WASM threads, and still a ResNet (n = 1 block per stage).
const MODEL = { model: 'resnet8', width: 8 };
const STEPS = 16;

type PageState = {
  status: string;
  backend: { name: string; description: string; threads: number; crossOriginIsolated: boolean; adapter?: { vendor: string; architecture: string; isFallbackAdapter: boolean } } | null;
  data: { name: string; train: number; test: number; classes: string[]; shape: number[] } | null;
  progress: { step: number; loss: number; acc: number }[];
  evals: { epoch: number | null; eval: EvalReport }[];
  training: boolean;
  runs: number;
  paused: boolean;
  errors: string[];
  loaded: { model: string } | null;
};
const state = (page: Page) => page.evaluate(() => (globalThis as unknown as { pugdPage: PageState }).pugdPage);

/** Waits for `pred` on the page state, failing early (with the page's own message) when the page reports an error. */
async function until(page: Page, pred: string, timeout = 240_000): Promise<void> {
  await page.waitForFunction(`(() => { const s = globalThis.pugdPage; return !!s && (s.errors.length > 0 || (${pred})); })()`, null, { timeout, polling: 200 });
  const s = await state(page);
  if (s.errors.length) throw new Error(`the page reports: ${s.errors.join('; ')}`);
}

async function setControls(page: Page, c: Partial<Record<'model' | 'width' | 'batch' | 'lr' | 'epochs' | 'seed', string>>): Promise<void> {
  if (c.model) await page.selectOption('#model', c.model);
  for (const k of ['width', 'batch', 'lr', 'epochs', 'seed'] as const) if (c[k] !== undefined) await page.fill(`#${k}`, c[k]!);
}

/** Frames the page painted during `ms` (requestAnimationFrame callbacks on the main thread). */
const framesDuring = (page: Page, ms: number) =>
  page.evaluate((ms) => new Promise<number>((resolve) => {
    let n = 0;
    const t0 = performance.now();
    const tick = () => (performance.now() - t0 < ms ? (n++, requestAnimationFrame(tick)) : resolve(n));
    requestAnimationFrame(tick);
  }), ms);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe.skipIf(skip)('training page (npm run web) in headless Chromium', () => {
  let browser: Browser;
  let page: Page;
  let server: Awaited<ReturnType<typeof startServer>>;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = await startServer({ port: 0 });
    browser = await chromium.launch({ executablePath: (await findChromium()).path, args: [...CHROMIUM_ARGS], headless: true });
    page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}?maxSteps=${STEPS}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('starts on auto: WASM when the only WebGPU adapter is a software one (saying so), WebGPU on a GPU', async () => {
    await until(page, 's.backend && s.data');
    expect(await page.inputValue('#backend')).toBe('auto');
    const auto = await state(page);
    const probe = await page.evaluate(async () => {
      const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean }; isFallbackAdapter?: boolean } | null> } }).gpu;
      const a = gpu ? await gpu.requestAdapter() : null;
      return a ? { fallback: Boolean(a.info?.isFallbackAdapter ?? a.isFallbackAdapter) } : null;
    });
    if (probe && !probe.fallback) {
      expect(auto.backend!.name).toBe('webgpu');
    } else {
      expect(auto.backend!.name).toBe('wasm');
      expect(await page.textContent('#backend-info')).toMatch(probe ? /WebGPU not used: the adapter \(.*\) is a software \(fallback\) adapter/ : /WebGPU not used: /);
    }
    expect(auto.data).toMatchObject({ train: 512, test: 200 });
    // The log panel keeps what happened (it used to stay empty).
    const logText = await page.textContent('#log');
    expect(logText).toMatch(/^ready: /m);
    expect(logText).toMatch(/^data: built-in sample/m);
  });

  it('an empty Epochs field or a width of 0 is an error on the page, not a run of 0 steps or NaN', async () => {
    for (const [field, value, want] of [['epochs', '', 'train: epochs must be a whole number ≥ 1, got NaN'], ['width', '0', "train: width must be a whole number ≥ 1 (or left empty for the model's own), got 0"]]) {
      await setControls(page, { epochs: '1', width: '8', [field]: value });
      await page.click('#train');
      await page.waitForFunction('globalThis.pugdPage.errors.length > 0 && !globalThis.pugdPage.training', null, { timeout: 30_000 });
      const s = await state(page);
      expect(s.errors).toEqual([want]);
      expect(s.runs).toBe(1); // the refused run counts as ended, with no step
      expect(s.progress).toEqual([]);
      expect(await page.textContent('#status')).toBe(`error: ${want}`);
      await page.evaluate(() => {
        const p = (globalThis as unknown as { pugdPage: { errors: string[]; runs: number } }).pugdPage;
        p.errors.length = 0;
        p.runs = 0;
      });
    }
  });

  it('on WebGPU shows the adapter and whether it is a fallback adapter', async () => {
    await page.selectOption('#backend', 'webgpu');
    await page.click('#init');
    await until(page, 's.backend && s.backend.name === "webgpu" && s.status.startsWith("ready")');
    const s = await state(page);
    expect(s.backend!.name).toBe('webgpu');
    expect(s.backend!.crossOriginIsolated, 'npm run web sends COOP/COEP').toBe(true);
    const a = s.backend!.adapter!;
    const shown = await page.textContent('#backend-info');
    expect(shown).toContain(a.vendor);
    expect(shown).toContain(a.architecture);
    expect(shown).toContain(a.isFallbackAdapter ? 'fallback (software) adapter' : 'hardware adapter');
    expect(s.data).toMatchObject({ train: 512, test: 200 });
    expect(s.data!.classes).toHaveLength(10);
  });

  it(`trains ${MODEL.model} with PUGD until the loss falls, stays responsive, pauses and resumes, draws both charts`, async () => {
    await setControls(page, { model: MODEL.model, width: String(MODEL.width), batch: '32', lr: '0.1', epochs: '1', seed: '1' });
    expect(await page.inputValue('#optimizer')).toBe('pugd');
    await page.click('#train');
    await until(page, 's.progress.length >= 3');
    // The worker trains; the page must keep painting (a blocked main thread paints no frames).
    expect(await framesDuring(page, 1000), 'frames painted in 1 s while training').toBeGreaterThan(10);
    await page.click('#pause');
    await until(page, 's.paused');
    const atPause = (await state(page)).progress.length;
    await page.waitForTimeout(1500);
    // At most the step that was running when pause arrived finishes.
    expect((await state(page)).progress.length).toBeLessThanOrEqual(atPause + 1);
    await page.click('#pause'); // now labelled Resume
    await until(page, 's.runs >= 1');
    const s = await state(page);
    const losses = s.progress.map((p) => p.loss);
    console.log(`page (${s.backend!.description}): ${losses.length} PUGD steps, losses ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    expect(losses).toHaveLength(STEPS);
    expect(losses.every(Number.isFinite)).toBe(true);
    // Fallen: the last four steps' mean below the first four's by a clear margin.
    expect(mean(losses.slice(-4))).toBeLessThan(mean(losses.slice(0, 4)) - 0.15);
    // Charts: drawn, and the plot area holds the series colours.
    const ink = await page.evaluate(() => {
      const count = (id: string, rgb: [number, number, number]) => {
        const c = document.getElementById(id) as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - rgb[0]) < 40 && Math.abs(d[i + 1] - rgb[1]) < 40 && Math.abs(d[i + 2] - rgb[2]) < 40) n++;
        return n;
      };
      return { loss: count('loss-chart', [0x2b, 0x6c, 0xb0]), acc: count('acc-chart', [0x2f, 0x85, 0x5a]) };
    });
    expect(ink.loss, 'loss line pixels').toBeGreaterThan(50);
    expect(ink.acc, 'accuracy line pixels').toBeGreaterThan(50);
    mkdirSync(join(root, 'out/screenshots'), { recursive: true });
    await page.screenshot({ path: join(root, 'out/screenshots/training-page.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 300_000); // 16 PUGD steps on SwiftShader: ~100 s on the 2-core machine, more under load

  it('a checkpoint downloaded from the page evaluates in Node (WASM) to the same accuracy', async () => {
    await page.click('#evaluate');
    await until(page, 's.evals.length >= 1 && s.status.startsWith("evaluated")');
    const inPage = (await state(page)).evals.at(-1)!.eval;
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    expect(download.suggestedFilename()).toMatch(/^resnet8-step000016\.safetensors$/);
    const bytes = new Uint8Array(readFileSync((await download.path())!));
    const node = new TrainingSession();
    await node.init('wasm');
    await node.loadData({ kind: 'sample' });
    const loaded = await node.load(bytes, download.suggestedFilename());
    expect(loaded.model).toBe(MODEL.model);
    const inNode = await node.evaluate();
    console.log(`page → Node: page ${(100 * inPage.acc).toFixed(1)}% loss ${inPage.loss.toFixed(5)}; Node ${(100 * inNode.acc).toFixed(1)}% loss ${inNode.loss.toFixed(5)}`);
    expect(inNode.images).toBe(200);
    expect(inNode.acc).toBe(inPage.acc);
    expect(Math.abs(inNode.loss - inPage.loss)).toBeLessThan(1e-4 * inPage.loss);
  });

  it('a checkpoint trained in Node evaluates in the page to the same accuracy', async () => {
    const node = new TrainingSession();
    await node.init('wasm');
    await node.loadData({ kind: 'sample' });
    const config: TrainConfig = { ...MODEL, optimizer: 'pugd', lr: 0.1, batchSize: 32, epochs: 3, seed: 7, maxSteps: 40 };
    await node.train(config, () => {}, () => {});
    const inNode = await node.evaluate();
    // Above chance (10%), so the two sides agree on a model that learned something, not on a constant guess.
    expect(inNode.acc).toBeGreaterThan(0.15);
    const { bytes, name } = await node.save();
    const before = (await state(page)).evals.length;
    await page.setInputFiles('#load-ckpt', { name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
    await until(page, `s.loaded && s.evals.length > ${before}`);
    const inPage = (await state(page)).evals.at(-1)!.eval;
    console.log(`Node → page: Node ${(100 * inNode.acc).toFixed(1)}% loss ${inNode.loss.toFixed(5)}; page ${(100 * inPage.acc).toFixed(1)}% loss ${inPage.loss.toFixed(5)}`);
    expect(inPage.images).toBe(200);
    expect(inPage.acc).toBe(inNode.acc);
    expect(Math.abs(inPage.loss - inNode.loss)).toBeLessThan(1e-4 * inNode.loss);
  });

  it('on WASM the page runs multithreaded when cross-origin isolated, trains, and Pause and Stop act within a step', async () => {
    // A long run (up to 2000 steps), so that Pause and Stop have a run to act on.
    await page.goto(`${server.url}?maxSteps=2000`);
    await until(page, 's.backend && s.data');
    await page.selectOption('#backend', 'wasm');
    await page.click('#init');
    await until(page, 's.backend && s.backend.name === "wasm"');
    const s = await state(page);
    expect(s.backend!.crossOriginIsolated).toBe(true);
    expect(s.backend!.threads, 'WASM threads in an isolated page').toBeGreaterThan(1);
    expect(await page.textContent('#backend-info')).toContain(`threads: ${s.backend!.threads}`);
    await setControls(page, { model: MODEL.model, width: String(MODEL.width), batch: '32', lr: '0.1', epochs: '100', seed: '1' });
    await page.click('#train');
    await until(page, 's.progress.length >= 3');
    await page.click('#pause');
    // Before the WASM loop yielded to the worker's event loop, the pause message waited for the run's end.
    await until(page, 's.paused', 20_000);
    expect(await page.textContent('#pause')).toBe('Resume');
    const atPause = (await state(page)).progress.length;
    await page.waitForTimeout(1500);
    expect((await state(page)).progress.length).toBeLessThanOrEqual(atPause + 1);
    await page.click('#pause');
    await until(page, `!s.paused && s.progress.length >= ${atPause + 3}`, 60_000);
    expect(await page.textContent('#pause')).toBe('Pause');
    const atStop = (await state(page)).progress.length;
    await page.click('#stop');
    await until(page, 's.runs >= 1', 20_000);
    const s2 = await state(page);
    // Steps that ran between reading the count and the click, plus the one running when Stop arrived.
    expect(s2.progress.length, 'steps after Stop').toBeLessThanOrEqual(atStop + 3);
    expect(s2.status).toMatch(new RegExp(`^stopped after ${s2.progress.length} steps`));
    expect(s2.progress.map((p) => p.loss).every(Number.isFinite)).toBe(true);
  });

  const d = dataDir();
  it.skipIf(d.skip)('reads the files a user picks: MNIST .gz files, a CIFAR-10 batch, an image-folder tar.gz; trains on MNIST', async () => {
    const data = requireData(d);
    const load = async (files: string[], format: string) => {
      await until(page, 's.backend && s.data'); // the page's own start-up (backend, sample) first
      await page.check('#data-own');
      await page.setInputFiles('#data-files', files);
      await page.selectOption('#data-format', format);
      const before = (await state(page)).data;
      await page.click('#load-data');
      await until(page, 's.data && s.status === "data ready"', 120_000);
      const s = await state(page);
      expect(s.data).not.toBe(before);
      return s.data!;
    };
    const mnist = await load(['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].map((f) => join(data, 'mnist', f)), 'auto');
    expect(mnist).toMatchObject({ train: 60_000, test: 10_000, shape: [1, 28, 28] });
    expect(mnist.classes).toHaveLength(10);
    // Two steps on the gray images (a 1-channel ResNet), on WASM, in a fresh page stopping after 2 steps.
    await page.goto(`${server.url}?maxSteps=2`);
    await until(page, 's.backend && s.data');
    await page.selectOption('#backend', 'wasm');
    await page.click('#init');
    await until(page, 's.backend.name === "wasm"');
    await load(['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].map((f) => join(data, 'mnist', f)), 'mnist');
    await setControls(page, { model: MODEL.model, width: '4', batch: '16' });
    await page.click('#train');
    await until(page, 's.runs > 0');
    expect((await state(page)).progress.map((p) => p.loss).every(Number.isFinite)).toBe(true);
    const cifar = await load([join(data, 'cifar-10-exact-subset/data_batch_1_first4000.bin.gz')], 'cifar10');
    expect(cifar).toMatchObject({ train: 4000, test: 0, shape: [3, 32, 32] });
    // An image-folder archive, made here from the decoder fixtures.
    const tmp = mkdtempSync(join(tmpdir(), 'pugd-page-'));
    try {
      const F = join(root, 'tests/fixtures/images');
      for (const [cls, f] of [['cat', 'baseline_420.jpg'], ['cat', 'rgb_8.png'], ['dog', 'progressive_444.jpg'], ['dog', 'gray.jpg'], ['dog', 'rgba_8.png']]) {
        mkdirSync(join(tmp, 'pets', cls), { recursive: true });
        copyFileSync(join(F, f), join(tmp, 'pets', cls, f));
      }
      execFileSync('tar', ['-czf', join(tmp, 'pets.tar.gz'), '-C', tmp, 'pets']);
      const folder = await load([join(tmp, 'pets.tar.gz')], 'auto');
      expect(folder).toMatchObject({ name: 'pets.tar.gz', train: 5, classes: ['cat', 'dog'] });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
