// Weight initialisers (PyTorch's nn.init), drawn on the host from a seeded generator so that every
// backend starts from bit-identical weights.
import { tensor } from '../create.js';
import type { Tensor } from '../tensor.js';
import { globalGenerator, type Generator } from '../random.js';
import { sizeOf } from '../shape.js';

/** fan_in = shape[1]·receptive field, fan_out = shape[0]·receptive field (PyTorch's definition). */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  const rf = shape.length > 2 ? sizeOf(shape.slice(2)) : 1;
  return { fanIn: (shape[1] ?? 1) * rf, fanOut: shape[0] * rf };
}

/** N(0, std²) with std = gain/√fan (kaiming_normal_, gain √2 for ReLU). */
export function kaimingNormal(shape: readonly number[], opts: { mode?: 'fanIn' | 'fanOut'; gain?: number; generator?: Generator } = {}): Tensor {
  const g = opts.generator ?? globalGenerator;
  const f = fans(shape);
  const std = (opts.gain ?? Math.SQRT2) / Math.sqrt(opts.mode === 'fanOut' ? f.fanOut : f.fanIn);
  return tensor(Float32Array.from({ length: sizeOf(shape) }, () => std * g.normal()), shape);
}

/** U(−bound, bound). */
export function uniform(shape: readonly number[], bound: number, generator: Generator = globalGenerator): Tensor {
  return tensor(Float32Array.from({ length: sizeOf(shape) }, () => (2 * generator.uniform() - 1) * bound), shape);
}

/** PyTorch's default for Conv2d/Linear weights: kaiming_uniform_(a=√5) ⇒ U(±1/√fan_in). */
export function defaultWeight(shape: readonly number[], generator: Generator = globalGenerator): Tensor {
  return uniform(shape, 1 / Math.sqrt(fans(shape).fanIn), generator);
}
