// Choosing the compute backend for a CLI run: --backend wasm|webgpu|auto. The chosen backend's
// one-line description goes into the run's log and plot title; a backend that cannot start is an
// error naming it and the reason (auto falls back to WASM and says why).

import { setBackend, getBackend, setBackendLogger, type BackendName } from '../engine/backend.js';

export interface SelectedBackend {
  name: BackendName;
  description: string;
}

export async function selectBackend(which: 'auto' | BackendName, log: ((line: string) => void) | null): Promise<SelectedBackend> {
  setBackendLogger(log);
  try {
    await setBackend(which);
  } catch (e) {
    throw new Error(`--backend ${which}: ${(e as Error).message}`);
  }
  const b = getBackend();
  return { name: b.name, description: b.info.description };
}
