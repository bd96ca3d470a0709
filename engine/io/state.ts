// Module weights ⇄ safetensors, with PyTorch's state_dict names: parameters and buffers as F32, plus
// each BatchNorm's `num_batches_tracked` as an I64 scalar, so `model.load_state_dict(load_file(p))`
// works in PyTorch with strict=True, and PyTorch's files load here. Browser-safe (no Node built-ins).

import type { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/layers.js';
import { encodeSafetensors, decodeSafetensors, toFloat32, type SafetensorsInput } from './safetensors.js';

/** A parameter or buffer holds NaN/±Inf, so the state is not worth saving (a diverged run). */
export class NonFiniteWeightsError extends Error {
  constructor(readonly tensor: string, readonly value: number) {
    super(`'${tensor}' holds ${value}`);
    this.name = 'NonFiniteWeightsError';
  }
}

/**
 * Reads a module's state from the device and serialises it. With `requireFinite`, a NaN/Inf value
 * throws NonFiniteWeightsError naming the tensor instead.
 *
 * @example
 *   writeFileSync('model.safetensors', await saveSafetensors(model));
 */
export async function saveSafetensors(module: Module, metadata: Record<string, string> = {}, opts: { requireFinite?: boolean } = {}): Promise<Uint8Array> {
  const out: Record<string, SafetensorsInput> = {};
  for (const [name, t] of Object.entries(module.stateDict())) {
    if (t.dtype !== 'f32') throw new Error(`saveSafetensors: '${name}' is ${t.dtype}; only f32 parameters and buffers are saved`);
    const data = await t.toArray();
    if (opts.requireFinite) {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) throw new NonFiniteWeightsError(name, data[i]);
      }
    }
    out[name] = { shape: t.shape, data };
  }
  for (const [name, m] of module.namedModules()) {
    if (m instanceof BatchNorm2d) {
      out[`${name ? `${name}.` : ''}num_batches_tracked`] = { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(m.numBatchesTracked)) };
    }
  }
  return encodeSafetensors(out, { format: 'pt', ...metadata });
}

/**
 * Loads safetensors bytes into a module by name. Any float dtype is converted to f32. With `strict`
 * (default), missing or unexpected names and any shape difference throw, naming the key and `source`.
 * Returns the file's metadata.
 */
export function loadSafetensors(module: Module, bytes: Uint8Array, opts: { strict?: boolean; source?: string } = {}): Record<string, string> {
  const source = opts.source ?? 'safetensors data';
  const file = decodeSafetensors(bytes, source);
  const own = module.stateDict();
  const host: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(file.tensors)) {
    if (name.endsWith('num_batches_tracked')) continue;
    const dst = own[name];
    if (dst && (dst.rank !== t.shape.length || dst.shape.some((d, i) => d !== t.shape[i]))) {
      throw new Error(`${source}: '${name}' has shape [${t.shape.join(',')}] but the model expects [${dst.shape.join(',')}] (a different model or configuration?)`);
    }
    host[name] = toFloat32(t, name);
  }
  try {
    module.loadStateDict(host, { strict: opts.strict });
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message} (a different model or configuration?)`);
  }
  for (const [name, m] of module.namedModules()) {
    const t = file.tensors[`${name ? `${name}.` : ''}num_batches_tracked`];
    if (m instanceof BatchNorm2d && t) m.numBatchesTracked = toFloat32(t)[0];
  }
  return file.metadata;
}
