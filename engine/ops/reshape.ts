// reshape / flatten: views on the same storage (every tensor is contiguous, so no copy is needed).
// Backward: reshape dy back to the input's shape.

import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { checkShape, shapeStr, sizeOf, type Shape } from '../shape.js';
import { backendOf } from './op.js';

/** Same data, new shape; one dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  backendOf('reshape', [x]);
  const s = [...shape];
  const infer = s.indexOf(-1);
  if (infer >= 0) {
    if (s.indexOf(-1, infer + 1) >= 0) throw new Error(`reshape: only one dimension can be -1, got ${shapeStr(shape)}`);
    const rest = sizeOf(s.filter((_, i) => i !== infer));
    if (rest === 0 || x.size % rest !== 0) {
      throw new Error(`reshape: cannot reshape ${x.describe()} (${x.size} elements) to ${shapeStr(shape)}`);
    }
    s[infer] = x.size / rest;
  }
  checkShape('reshape', s);
  if (sizeOf(s) !== x.size) {
    throw new Error(`reshape: cannot reshape ${x.describe()} (${x.size} elements) to ${shapeStr(shape)} (${sizeOf(s)} elements)`);
  }
  const y = x.view(s);
  const from = x.shape;
  return record('reshape', y, [x], [], (dy) => [dy.view(from)]);
}

/** Keeps dims before `startDim` and flattens the rest: [N,C,H,W] → [N, C·H·W]. */
export function flatten(x: Tensor, startDim = 1): Tensor {
  if (!Number.isInteger(startDim) || startDim < 0 || startDim > x.rank) {
    throw new Error(`flatten: startDim ${startDim} is out of range for ${x.describe()}`);
  }
  if (startDim === x.rank) return reshape(x, [...x.shape, 1]);
  return reshape(x, [...x.shape.slice(0, startDim), sizeOf(x.shape.slice(startDim))]);
}
