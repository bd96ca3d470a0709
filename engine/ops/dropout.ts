// Dropout (PyTorch's F.dropout: inverted dropout) with a counter-based device RNG.
//
// Letters: x, y of any shape, n elements, flat (row-major) index i; p the drop probability.
//
// Random bits: Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11),
// keyed by two u32 words k drawn per call from a seeded Generator (engine/random.ts). Element i
// takes word i mod 4 of the block Philox(counter = (⌊i/4⌋, 0, 0, 0), key = k). Each element's bits
// depend only on (k, i), so the mask is the same on WASM and WebGPU, for any thread count and any
// dispatch geometry, and the backward pass recomputes it instead of storing it.
//
// Mask:     keep_i = bits_i ≥ D,  D = min(round(p·2³²), 2³² − 1)   (P(keep) = 1 − p within 2⁻³³)
// Forward:  y_i = x_i · (keep_i ? s : 0),  s = f32(1/(1 − p))      (PyTorch's x·mask·scale, so a
//           dropped NaN or ±Inf still gives NaN, as there)
// Backward: dx_i = dy_i · (keep_i ? s : 0) — the same kernel, the same key.
// Identity (a view, no key drawn) in eval mode, for p = 0 and for empty tensors, as PyTorch.
//
// Across an optimizer step's passes the key comes from the step context (engine/step_context.ts):
// by default PUGD's and SAM's second pass replays the first pass's keys, so it sees the same mask.
//
// Not handled: p = 1 (PyTorch allows it: everything dropped; here p must be < 1, so the scale is
// finite), dropout2d/alpha dropout, in-place dropout.

import { kernel } from '../kernel.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { globalGenerator, type Generator } from '../random.js';
import { randomKey } from '../step_context.js';
import { backendOf, dispatch, output, requireF32 } from './op.js';
import { reshape } from './reshape.js';

/** y = x · (bits ≥ drop ? scale : 0), bits the Philox word of each element under key (k0, k1). */
export const dropout_apply = kernel({
  name: 'dropout_apply', family: 'dropout', inputs: ['x'], outputs: ['y'],
  params: [['n', 'u32'], ['k0', 'u32'], ['k1', 'u32'], ['drop', 'u32'], ['scale', 'f32']],
});
/** The raw stream: y[i] = word i mod 4 of Philox4x32-10(counter c + ⌊i/4⌋ (128-bit add), key k). */
export const dropout_bits = kernel({
  name: 'dropout_bits', family: 'dropout', inputs: [], outputs: ['y'],
  params: [['n', 'u32'], ['c0', 'u32'], ['c1', 'u32'], ['c2', 'u32'], ['c3', 'u32'], ['k0', 'u32'], ['k1', 'u32']],
});

export const dropoutKernels = [dropout_apply, dropout_bits];

export interface DropoutAttrs {
  /** Drop (true, the default as in PyTorch's F.dropout) or pass x through unchanged (false). */
  training?: boolean;
  /** The generator the key is drawn from (default: the global one, see `manualSeed`). */
  generator?: Generator;
}

/** The integer threshold D of the mask: an element is kept when its 32 random bits are ≥ D. */
export function dropThreshold(p: number): number {
  return Math.min(Math.round(p * 4294967296), 4294967295);
}

/**
 * Zeroes each element of `x` with probability `p` and scales the others by 1/(1 − p), so the
 * expectation is unchanged (inverted dropout, PyTorch's `F.dropout`). Identity when `training` is
 * false or p is 0.
 *
 * @example
 *   const h = nn.functional.dropout(x, 0.5, { training: model.training });
 *   const same = nn.functional.dropout(x, 0.5, { generator: new Generator(7) }); // reproducible mask
 */
export function dropout(x: Tensor, p = 0.5, attrs: DropoutAttrs = {}): Tensor {
  const op = 'dropout';
  const backend = backendOf(op, [x]);
  requireF32(op, 'input', x);
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new Error(`${op}: p must be a probability in [0, 1), got ${String(p)}`);
  for (const k of Object.keys(attrs)) {
    if (k !== 'training' && k !== 'generator') throw new Error(`${op}: unknown option '${k}' (expected training, generator)`);
  }
  const training = attrs.training ?? true;
  if (typeof training !== 'boolean') throw new Error(`${op}: training must be true or false, got ${String(training)}`);
  if (!training || p === 0 || x.size === 0) return reshape(x, x.shape);
  const [k0, k1] = randomKey(op, x.size, attrs.generator ?? globalGenerator);
  const params = { n: x.size, k0, k1, drop: dropThreshold(p), scale: Math.fround(1 / (1 - p)) };
  const y = output(op, x.shape, backend);
  dispatch(dropout_apply, params, [x], [y]);
  return record(op, y, [x], [], (dy) => {
    const dx = output(`${op} backward`, dy.shape, dy.backend);
    dispatch(dropout_apply, params, [dy], [dx]);
    return [dx];
  });
}

/**
 * @internal n words of the raw Philox4x32-10 stream (i32 tensor holding the u32 bits) from 128-bit
 * counter `counter` (4 u32 words, low first) under `key` (2 u32 words): the bits dropout's masks are
 * cut from, exposed so the tests check the device generator against the published test vectors.
 */
export function philoxBits(n: number, counter: readonly number[], key: readonly number[], backend = backendOf('philoxBits', [])): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new Error(`philoxBits: n must be an integer ≥ 0, got ${n}`);
  const u32 = (v: number | undefined, what: string) => {
    if (!Number.isInteger(v) || v! < 0 || v! > 4294967295) throw new Error(`philoxBits: ${what} must be a u32, got ${v}`);
    return v!;
  };
  if (counter.length !== 4 || key.length !== 2) throw new Error(`philoxBits: counter needs 4 words and key 2, got ${counter.length} and ${key.length}`);
  const y = output('philoxBits', [n], backend, 'i32');
  const [c0, c1, c2, c3] = counter.map((c, i) => u32(c, `counter[${i}]`));
  const [k0, k1] = key.map((k, i) => u32(k, `key[${i}]`));
  if (n > 0) dispatch(dropout_bits, { n, c0, c1, c2, c3, k0, k1 }, [], [y]);
  return y;
}
