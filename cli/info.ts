// `pugd info`: which compute backends this build has, which of them start on this machine, and what
// they run on (WebGPU adapter, fallback or not, limits and features; WASM threads). A backend that
// fails to start is reported with its reason instead of failing the command.

import { registeredBackends, setBackend, getBackend, type BackendInfo, type BackendName } from '../engine/backend.js';
import { cpus } from 'node:os';

export interface BackendReport {
  name: BackendName;
  ok: boolean;
  info?: BackendInfo;
  error?: string;
}

export async function probeBackends(which: 'auto' | BackendName): Promise<BackendReport[]> {
  const names: BackendName[] = which === 'auto' ? ['webgpu', 'wasm'] : [which];
  const out: BackendReport[] = [];
  for (const name of names) {
    if (!registeredBackends().includes(name)) {
      out.push({ name, ok: false, error: `the ${name} backend is not part of this build` });
      continue;
    }
    try {
      await setBackend(name);
      out.push({ name, ok: true, info: getBackend().info });
    } catch (e) {
      out.push({ name, ok: false, error: (e as Error).message });
    }
  }
  return out;
}

/** The text of `pugd info`; the adapter's limits and features (tens of lines) only when `verbose`. */
export function formatInfo(reports: BackendReport[], version: string, verbose = false): string {
  const lines = [`pugd ${version} · Node ${process.version} · ${process.platform}-${process.arch} · ${cpus().length} CPU cores`];
  for (const r of reports) {
    if (!r.ok) {
      lines.push(`${r.name}: not available: ${r.error}`);
      continue;
    }
    const i = r.info!;
    lines.push(`${r.name}: ${i.description}`);
    if (i.threads !== undefined) lines.push(`  threads: ${i.threads}`);
    if (i.dawnFlags) lines.push(`  dawn flags: ${i.dawnFlags.length ? i.dawnFlags.join(' ') : 'none'} (PUGD_DAWN_FLAGS)`);
    if (i.adapter) {
      const a = i.adapter;
      lines.push(`  adapter: ${[a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ')}${a.isFallbackAdapter ? ' (fallback adapter: software rendering)' : ''}`);
    }
    if (i.limits && verbose) {
      lines.push('  limits:');
      for (const [k, v] of Object.entries(i.limits)) lines.push(`    ${k}: ${v}`);
    }
    if (i.features?.length && verbose) lines.push(`  features: ${i.features.join(', ')}`);
    if ((i.limits || i.features?.length) && !verbose) lines.push('  limits and features: pugd info --verbose');
  }
  return lines.join('\n');
}
