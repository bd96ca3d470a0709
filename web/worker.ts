// The training page's Web Worker: owns the engine (dist/pugd.browser.js, imported as a module), runs a
// TrainingSession (web/session.ts) and speaks the protocol of web/protocol.ts with the page. Training
// here keeps the page responsive: the page only draws what the worker reports.
//
// Requests are handled one at a time in arrival order, except pause/resume/stop, which act at once
// (the training loop checks them between steps), and evaluate/save while training is paused (the loop
// is then parked between steps, so the weights are not changing). Errors become `{ type: 'error' }`.

import { TrainingSession } from './session.js';
import type { Event, Request, Response, WorkerMessage } from './protocol.js';

interface WorkerScope {
  postMessage(m: WorkerMessage, transfer?: Transferable[]): void;
  addEventListener(type: 'message', h: (e: MessageEvent<Request>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;

const send = (m: WorkerMessage, transfer: Transferable[] = []) => scope.postMessage(m, transfer);
const event = (e: Event) => send(e);
const session = new TrainingSession((line) => event({ type: 'log', line }));

let queue: Promise<void> = Promise.resolve();

scope.addEventListener('message', (e) => {
  const req = e.data;
  // Control messages must not wait behind a running `train` request.
  if (req.type === 'pause' || req.type === 'resume' || req.type === 'stop') {
    if (req.type === 'pause') session.pause();
    else if (req.type === 'resume') session.resume();
    else session.stop();
    event({ type: 'state', state: req.type === 'pause' ? 'paused' : req.type === 'resume' ? 'training' : 'idle' });
    send({ id: req.id, type: 'ok' });
    return;
  }
  if ((req.type === 'evaluate' || req.type === 'save') && session.isRunning) {
    if (!session.isPaused) {
      send({ id: req.id, type: 'error', message: `${req.type}: pause training first (the weights change at every step)` });
      return;
    }
    handle(req).catch((err) => send({ id: req.id, type: 'error', message: String((err as Error)?.message ?? err) }));
    return;
  }
  queue = queue.then(() => handle(req)).catch((err) => send({ id: req.id, type: 'error', message: String((err as Error)?.message ?? err) }));
});

async function handle(req: Request): Promise<void> {
  let res: Response;
  switch (req.type) {
    case 'init':
      res = { id: req.id, type: 'ready', backend: await session.init(req.backend, req.threads) };
      break;
    case 'data':
      res = { id: req.id, type: 'data', data: await session.loadData(req.data) };
      break;
    case 'train': {
      event({ type: 'state', state: 'training' });
      try {
        const r = await session.train(req.config, (p) => event(p), (epoch, ev) => event({ type: 'epoch', epoch, eval: ev }));
        res = { id: req.id, type: 'trained', ...r };
      } finally {
        event({ type: 'state', state: 'idle' });
      }
      break;
    }
    case 'evaluate':
      res = { id: req.id, type: 'eval', eval: await session.evaluate(req.limit) };
      break;
    case 'save': {
      const { bytes, name } = await session.save();
      const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      send({ id: req.id, type: 'checkpoint', bytes: buf, name }, [buf]);
      return;
    }
    case 'load':
      res = { id: req.id, type: 'loaded', ...(await session.load(new Uint8Array(req.bytes), req.name, req.model, req.width)) };
      break;
    default:
      res = { id: (req as { id: number }).id, type: 'error', message: `worker: unknown request '${(req as { type: string }).type}'` };
  }
  send(res);
}
