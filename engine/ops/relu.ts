// ReLU: y = max(x, 0). Backward: dx = dy where x > 0, else 0 (the subgradient at 0 is 0, as PyTorch).

import { kernel } from '../kernel.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { backendOf, dispatch, output, requireF32 } from './op.js';

export const relu_fwd = kernel({ name: 'relu_fwd', family: 'relu', inputs: ['x'], outputs: ['y'], params: [['n', 'u32']] });
/** dx = x > 0 ? dy : 0. */
export const relu_bwd = kernel({ name: 'relu_bwd', family: 'relu', inputs: ['x', 'dy'], outputs: ['dx'], params: [['n', 'u32']] });

export const reluKernels = [relu_fwd, relu_bwd];

export function relu(x: Tensor): Tensor {
  const backend = backendOf('relu', [x]);
  requireF32('relu', 'input', x);
  const y = output('relu', x.shape, backend);
  if (x.size > 0) dispatch(relu_fwd, { n: x.size }, [x], [y]);
  return record('relu', y, [x], [x], (dy, [X]) => {
    const dx = output('relu backward', X.shape, X.backend);
    if (X.size > 0) dispatch(relu_bwd, { n: X.size }, [X, dy], [dx]);
    return [dx];
  });
}
