// The training page's main thread: reads the controls, sends requests to the training worker
// (web/worker.ts, protocol in web/protocol.ts), and draws what it reports — backend and adapter, data,
// live loss/accuracy charts, evaluations — so the page stays responsive while the worker trains.
// Checkpoints: "Download" saves the worker's safetensors bytes as a file; "Load" sends a picked file
// to the worker and evaluates it.
//
// For tests and the curious, `window.pugdPage` holds the state the page shows (status, backend, data,
// every progress event, evaluations, chart draw counts). It never imports the engine itself.

import { LineChart } from './chart.js';
import type { BackendChoice, BackendReport, DataFormat, DataReport, EvalReport, ProgressEvent, Request, RequestBody, Response, TrainConfig, WorkerMessage } from './protocol.js';

type Pending = { resolve: (r: Response) => void; reject: (e: Error) => void };

const $ = <T extends HTMLElement = HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page: no element #${id}`);
  return el as T;
};
const input = (id: string) => $<HTMLInputElement>(id);
const select = (id: string) => $<HTMLSelectElement>(id);

const state = {
  status: 'starting',
  backend: null as BackendReport | null,
  data: null as DataReport | null,
  progress: [] as ProgressEvent[],
  evals: [] as { epoch: number | null; eval: EvalReport }[],
  training: false,
  /** Training runs finished (done or stopped). */
  runs: 0,
  paused: false,
  errors: [] as string[],
  log: [] as string[],
  lastCheckpoint: null as { name: string; bytes: number } | null,
  loaded: null as { model: string; width: number; metadata: Record<string, string> } | null,
  charts: { lossDraws: () => lossChart.draws, accDraws: () => accChart.draws },
};
(globalThis as unknown as { pugdPage: typeof state }).pugdPage = state;

const lossChart = new LineChart($<HTMLCanvasElement>('loss-chart'), { yLabel: 'loss', color: '#2b6cb0', dotColor: '#c05621' });
const accChart = new LineChart($<HTMLCanvasElement>('acc-chart'), { yLabel: 'accuracy', fixedRange: [0, 1], color: '#2f855a', dotColor: '#c05621' });

const worker = new Worker('/worker.js', { type: 'module' });
const pending = new Map<number, Pending>();
let nextId = 1;

function request(body: RequestBody, transfer: Transferable[] = []): Promise<Response> {
  const id = nextId++;
  return new Promise<Response>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ ...body, id } as Request, transfer);
  }).then((r) => {
    if (r.type === 'error') throw new Error(r.message);
    return r;
  });
}

worker.addEventListener('message', (e: MessageEvent<WorkerMessage>) => {
  const m = e.data;
  if ('id' in m) {
    const p = pending.get(m.id);
    pending.delete(m.id);
    p?.resolve(m);
    return;
  }
  switch (m.type) {
    case 'progress':
      state.progress.push(m);
      lossChart.add('line', { x: m.step, y: m.loss });
      accChart.add('line', { x: m.step, y: m.acc });
      setStatus(`training: step ${m.step} (epoch ${m.epoch + 1}), loss ${m.loss.toFixed(4)}, batch accuracy ${(100 * m.acc).toFixed(1)}%, ${m.imagesPerSecond.toFixed(1)} images/s`);
      break;
    case 'epoch': {
      state.evals.push({ epoch: m.epoch, eval: m.eval });
      const x = state.progress.at(-1)?.step ?? 0;
      lossChart.add('dots', { x, y: m.eval.loss });
      accChart.add('dots', { x, y: m.eval.acc });
      showEval(`after epoch ${m.epoch + 1}`, m.eval);
      log($('eval-info').textContent ?? '');
      break;
    }
    case 'state':
      state.paused = m.state === 'paused';
      $<HTMLButtonElement>('pause').textContent = state.paused ? 'Resume' : 'Pause';
      break;
    case 'log':
      log(m.line);
      break;
  }
});
worker.addEventListener('error', (e) => fail(`worker: ${e.message || 'failed to start (is the page served by npm run web?)'}`));

/** A status line that is also worth keeping: shown and appended to the log panel. */
function note(s: string): void {
  setStatus(s);
  log(s);
}

function setStatus(s: string): void {
  state.status = s;
  $('status').textContent = s;
}

function log(line: string): void {
  state.log.push(line);
  const el = $('log');
  el.textContent += `${line}\n`;
  el.scrollTop = el.scrollHeight;
}

function fail(message: string): void {
  state.errors.push(message);
  setStatus(`error: ${message}`);
  log(`error: ${message}`);
}

function showEval(what: string, r: EvalReport): void {
  $('eval-info').textContent = `${what}: test loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.acc).toFixed(2)}% on ${r.images} images (${r.seconds.toFixed(1)} s)`;
}

function describeBackend(b: BackendReport): string {
  const lines = [b.description];
  if (b.adapter) {
    const name = [b.adapter.vendor, b.adapter.architecture, b.adapter.device, b.adapter.description].filter(Boolean).join(' / ');
    lines.push(`adapter: ${name || '(unnamed)'}${b.adapter.isFallbackAdapter ? ' — fallback (software) adapter' : ' — hardware adapter'}`);
  }
  if (b.name === 'wasm') lines.push(`threads: ${b.threads}${b.crossOriginIsolated ? '' : ' (page not cross-origin isolated: single-threaded)'}`);
  if (b.fallbackReason) lines.push(`WebGPU not used: ${b.fallbackReason}`);
  return lines.join('\n');
}

async function initBackend(): Promise<void> {
  const choice = select('backend').value as BackendChoice;
  setStatus(`starting the ${choice} backend…`);
  const r = await request({ type: 'init', backend: choice });
  if (r.type !== 'ready') return;
  state.backend = r.backend;
  $('backend-info').textContent = describeBackend(r.backend);
  note(`ready: ${describeBackend(r.backend).replace(/\n/g, '; ')}`);
}

async function loadData(sampleOnly = false): Promise<void> {
  const own = !sampleOnly && input('data-own').checked;
  const files = Array.from(input('data-files').files ?? []);
  if (own && !files.length) throw new Error('choose one or more data files first (or the built-in sample)');
  setStatus(own ? `reading ${files.length} file(s)…` : 'making the built-in sample…');
  const r = await request({ type: 'data', data: own ? { kind: 'files', files, format: select('data-format').value as DataFormat } : { kind: 'sample' } });
  if (r.type !== 'data') return;
  state.data = r.data;
  const d = r.data;
  $('data-info').textContent = `${d.name}: ${d.train} training and ${d.test} test images, ${d.classes.length} classes, ${d.shape.join('×')}`;
  setStatus('data ready');
  log(`data: ${$('data-info').textContent}`);
}

function config(): TrainConfig {
  // An empty field is NaN, not 0, so the check (web/session.ts checkConfig) names it instead of
  // training 0 epochs; an empty width means the model's own.
  const num = (id: string) => (input(id).value.trim() === '' ? NaN : Number(input(id).value));
  return {
    model: select('model').value,
    width: input('width').value.trim() === '' ? undefined : num('width'),
    optimizer: select('optimizer').value as TrainConfig['optimizer'],
    lr: num('lr'),
    batchSize: num('batch'),
    epochs: num('epochs'),
    seed: num('seed'),
    // ?maxSteps=N in the page's URL stops early (demos and the end-to-end test).
    maxSteps: Number(new URLSearchParams(location.search).get('maxSteps')) || undefined,
  };
}

async function ensureReady(): Promise<void> {
  await startup;
  if (!state.backend) await initBackend();
  if (!state.data) await loadData();
}

async function train(): Promise<void> {
  await ensureReady();
  lossChart.clear();
  accChart.clear();
  state.progress.length = 0;
  state.training = true;
  for (const id of ['pause', 'stop']) $<HTMLButtonElement>(id).disabled = false;
  $<HTMLButtonElement>('train').disabled = true;
  const c = config();
  note(`training ${c.model} with ${c.optimizer.toUpperCase()} on ${state.backend!.name}…`);
  try {
    const r = await request({ type: 'train', config: c });
    if (r.type === 'trained') note(`${r.stopped ? 'stopped' : 'done'} after ${r.steps} steps; last loss ${r.lastLoss.toFixed(4)}`);
  } finally {
    state.runs++;
    state.training = false;
    for (const id of ['pause', 'stop']) $<HTMLButtonElement>(id).disabled = true;
    $<HTMLButtonElement>('train').disabled = false;
  }
}

async function evaluate(): Promise<void> {
  setStatus('evaluating…');
  const r = await request({ type: 'evaluate' });
  if (r.type !== 'eval') return;
  state.evals.push({ epoch: null, eval: r.eval });
  showEval('evaluation', r.eval);
  note(`evaluated: accuracy ${(100 * r.eval.acc).toFixed(2)}%`);
}

async function save(): Promise<void> {
  const r = await request({ type: 'save' });
  if (r.type !== 'checkpoint') return;
  state.lastCheckpoint = { name: r.name, bytes: r.bytes.byteLength };
  const url = URL.createObjectURL(new Blob([r.bytes], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = r.name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  note(`checkpoint ${r.name} (${r.bytes.byteLength} bytes) downloaded`);
}

async function loadCheckpoint(): Promise<void> {
  const f = input('load-ckpt').files?.[0];
  if (!f) return;
  await ensureReady();
  const bytes = await f.arrayBuffer();
  const r = await request({ type: 'load', bytes, name: f.name, model: select('model').value, width: Number(input('width').value) || undefined }, [bytes]);
  if (r.type !== 'loaded') return;
  state.loaded = { model: r.model, width: r.width, metadata: r.metadata };
  log(`loaded ${f.name}: ${r.model}${r.width ? ` width ${r.width}` : ''}`);
  await evaluate();
}

/** Runs a handler from a control, reporting its error on the page instead of losing it. */
const on = (id: string, ev: string, f: () => Promise<void>) =>
  $(id).addEventListener(ev, () => {
    f().catch((e: Error) => fail(e.message));
  });

on('init', 'click', initBackend);
on('load-data', 'click', () => loadData());
on('train', 'click', train);
on('pause', 'click', async () => {
  await request({ type: state.paused ? 'resume' : 'pause' });
});
on('stop', 'click', async () => {
  await request({ type: 'stop' });
});
on('evaluate', 'click', evaluate);
on('save', 'click', save);
on('load-ckpt', 'change', loadCheckpoint);
input('data-files').addEventListener('change', () => (input('data-own').checked = true));

// Start the chosen backend and the built-in sample right away, so "Train" is one click.
const startup: Promise<void> = initBackend()
  .then(() => loadData(true))
  .catch((e: Error) => fail(e.message));
