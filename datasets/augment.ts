// Augmentation settings and the batch assembler shared by the loader's workers and its in-thread mode:
// decode (or take raw pixels) → augment_one (assembly/data/augment.ts) → one NCHW f32 batch.
//
// The random choices (crop offsets, flips) are drawn by the loader on the main thread and passed in,
// so a batch is the same bits whichever thread (or how many threads) assembled it.

import type { SampleStore } from './dataset.js';
import type { DataInstance } from './wasm.js';
import { decodeInto } from './image.js';

export interface AugmentOptions {
  /** Zero padding before a random crop back to the output size (4 for CIFAR); 0 = no crop. */
  padding?: number;
  /** Random horizontal flip with probability ½. */
  flip?: boolean;
  /** Per-channel mean and std of pixel/255 (normalisation); default none (pixel/255). */
  mean?: number[];
  std?: number[];
}

/** The usual CIFAR-10 training recipe (He et al. 2016): pad 4 + crop, flip, normalise. */
export const cifarTrain: AugmentOptions = { padding: 4, flip: true, mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
/** CIFAR-10 evaluation: normalise only. */
export const cifarTest: AugmentOptions = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };

/** What a batch job needs besides the sample indices (plain data: it is posted to workers). */
export interface BatchConfig {
  channels: number;
  height: number;
  width: number;
  padding: number;
  /** scale[c] then bias[c]: out = pixel·scale + bias = (pixel/255 − mean)/std. */
  norm: Float32Array;
}

export function normParams(channels: number, mean?: number[], std?: number[]): Float32Array {
  const n = new Float32Array(channels * 2);
  for (let c = 0; c < channels; c++) {
    const m = mean ? mean[c] ?? mean[0] : 0;
    const s = std ? std[c] ?? std[0] : 1;
    if (!(s > 0)) throw new Error(`augment: std[${c}] must be > 0, got ${s}`);
    n[c] = 1 / (255 * s);
    n[channels + c] = -m / s;
  }
  return n;
}

/**
 * Assembles one batch. params holds 3 ints per sample: crop offset y, x (in [0, 2·padding]) and flip.
 */
export function assembleBatch(inst: DataInstance, store: SampleStore, cfg: BatchConfig, indices: Int32Array, params: Int32Array): { x: Float32Array; y: Int32Array } {
  const { channels: C, height: H, width: W } = cfg;
  const per = C * H * W;
  const x = new Float32Array(indices.length * per);
  const y = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    y[k] = store.labels[i];
    let src: number, sh: number, sw: number, sc: number, planar: number;
    if (store.kind === 'encoded') {
      const bytes = store.bytes.subarray(store.offsets[i], store.offsets[i + 1]);
      [src, sw, sh, sc] = decodeInto(inst, bytes, store.names[i]);
      planar = 0;
    } else {
      const n = store.height * store.width * store.channels;
      src = inst.run('raw', undefined, store.bytes.subarray(i * n, (i + 1) * n), (p) => p);
      sh = store.height;
      sw = store.width;
      sc = store.channels;
      planar = store.planar ? 1 : 0;
    }
    const out = inst.call('augment', store.names[i], () => {
      const dst = inst.ex.arena_alloc(per * 4);
      const norm = inst.ex.arena_alloc(cfg.norm.byteLength);
      new Float32Array(inst.ex.memory.buffer, norm, cfg.norm.length).set(cfg.norm);
      inst.ex.augment_one(src, sh, sw, sc, planar, dst, C, H, W, cfg.padding, params[3 * k], params[3 * k + 1], params[3 * k + 2], norm);
      return dst;
    });
    x.set(new Float32Array(inst.ex.memory.buffer, out, per), k * per);
  }
  return { x, y };
}
