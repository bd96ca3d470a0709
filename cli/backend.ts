// Choosing the compute backend for a CLI run: --backend wasm|webgpu|auto. `auto` means "the fastest
// here": WebGPU on a real GPU, WASM otherwise, including where WebGPU exists only as a software
// adapter (SwiftShader on a GPU-less Linux box, or any fallback adapter), which trains several times
// slower than the WASM kernels; `--backend webgpu` still uses it. The chosen backend's one-line
// description goes into the run's log and plot title; a backend that cannot start is an error naming
// it and the reason.

import { setBackend, getBackend, setBackendLogger, disposeBackend, type BackendName, type BackendOptions } from '../engine/backend.js';
import { systemGpuDriver } from '../engine/backends/webgpu_node_env.js';

export interface SelectedBackend {
  name: BackendName;
  description: string;
}

/**
 * Why WebGPU would be a software adapter on this machine, or null when a GPU driver may be there: on
 * Linux x64 with no Vulkan GPU driver and no driver chosen through the environment.
 */
export function softwareOnlyReason(env: NodeJS.ProcessEnv = process.env): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  if (env.PUGD_SOFTWARE_ADAPTER === '1' || env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES) return null;
  return systemGpuDriver() ? null : 'no GPU driver found, and WebGPU on the SwiftShader software adapter is slower than WASM';
}

/** `profile`: turn the kernel profiler on (undefined: PUGD_PROFILE decides). */
export async function selectBackend(which: 'auto' | BackendName, log: ((line: string) => void) | null, profile?: boolean): Promise<SelectedBackend> {
  setBackendLogger(log);
  const opts: BackendOptions = profile ? { profile } : {};
  const say = log ?? (() => {});
  try {
    if (which === 'auto') {
      const why = softwareOnlyReason();
      if (why) {
        await setBackend('wasm', opts);
        say(`pugd: backend auto → wasm (${getBackend().info.description}): ${why} (--backend webgpu uses it anyway)`);
      } else if ((await setBackend('auto', opts)) === 'webgpu' && getBackend().info.adapter?.isFallbackAdapter) {
        disposeBackend('webgpu');
        await setBackend('wasm', opts);
        say(`pugd: backend auto → wasm (${getBackend().info.description}): the WebGPU adapter is a software fallback, slower than WASM (--backend webgpu uses it anyway)`);
      }
    } else {
      await setBackend(which, opts);
    }
  } catch (e) {
    throw new Error(`--backend ${which}: ${(e as Error).message}`);
  }
  const b = getBackend();
  return { name: b.name, description: b.info.description };
}
