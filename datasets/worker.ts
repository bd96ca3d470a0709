// The loader's worker (bundled by scripts/build.mjs into engine/generated/data_worker.ts): receives the
// compiled data module and the sample store once, then assembles batches on request and transfers
// them back. The same script runs under Node's worker_threads (eval'd, so `require` exists) and as a
// browser Web Worker (from a Blob URL).

import { useModule, data } from './wasm.js';
import { assembleBatch, type BatchConfig } from './augment.js';
import type { SampleStore } from './dataset.js';

interface Port {
  postMessage(m: unknown, transfer?: Transferable[]): void;
}

let store: SampleStore | null = null;
let cfg: BatchConfig | null = null;

function handle(port: Port, m: { type: string; [k: string]: unknown }): void {
  if (m.type === 'init') {
    useModule(m.module as WebAssembly.Module);
    store = m.store as SampleStore;
    cfg = m.config as BatchConfig;
    return;
  }
  if (m.type === 'batch') {
    try {
      const { x, y } = assembleBatch(data(), store!, cfg!, m.indices as Int32Array, m.params as Int32Array);
      port.postMessage({ type: 'batch', id: m.id, x, y }, [x.buffer, y.buffer]);
    } catch (e) {
      port.postMessage({ type: 'error', id: m.id, message: (e as Error).message });
    }
  }
}

declare const require: ((id: string) => { parentPort: { on(ev: string, fn: (m: never) => void): void } & Port }) | undefined;
const g = globalThis as unknown as { onmessage?: unknown; postMessage?: Port['postMessage'] };
if (typeof require === 'function') {
  const { parentPort } = require('node:worker_threads');
  parentPort.on('message', (m: never) => handle(parentPort, m));
} else {
  const self = g as unknown as Port;
  g.onmessage = (ev: { data: { type: string } }) => handle(self, ev.data);
}
