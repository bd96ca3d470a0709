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

declare const require: ((id: string) => unknown) | undefined;
type NodePort = { on(ev: string, fn: (m: never) => void): void } & Port;
const proc = (globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown } }).process;
if (typeof proc?.versions?.node === 'string') {
  // getBuiltinModule (Node ≥ 20.16) works whether this script is evaluated as CommonJS or as a module
  // (a parent started with --input-type=module passes that on); require covers older Node 20.
  const wt = (proc.getBuiltinModule?.('node:worker_threads') ?? require!('node:worker_threads')) as { parentPort: NodePort };
  wt.parentPort.on('message', (m: never) => handle(wt.parentPort, m));
} else {
  const g = globalThis as unknown as { onmessage?: unknown } & Port;
  g.onmessage = (ev: { data: { type: string } }) => handle(g, ev.data);
}
