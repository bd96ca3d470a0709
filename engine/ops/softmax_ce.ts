// Softmax cross-entropy with integer labels and optional label smoothing (PyTorch's
// F.cross_entropy(logits, labels, label_smoothing=ε) for 2-D logits).
//
// Letters: logits z [N,C], labels [N] (i32 in 0..C−1), t the smoothed target: t_j = (1−ε)·[j = label]
// + ε/C. Per row: lse = max z + log Σ exp(z − max z), p = exp(z − lse), ℓ = −Σ_j t_j·(z_j − lse).
// loss = scale·Σ_n ℓ_n with scale = 1/N (mean, the default) or 1 (sum); rows summed in order.
// Backward: dz = scale·dloss·(p − t). A label outside 0..C−1 makes that row's loss NaN (kernels
// cannot throw), so labels are checked before they reach a kernel: host arrays value by value, i32
// tensors made from host data (`tensor()`, the data loader) by the range recorded at upload.

import { kernel } from '../kernel.js';
import { record } from '../autograd.js';
import { Tensor, Storage } from '../tensor.js';
import { shapeStr } from '../shape.js';
import { backendOf, dispatch, output, requireF32 } from './op.js';
import { grid1, pass, perItem, type LaunchPlan } from './launch.js';
import { fullReducePasses, reduce_sum } from './reduce.js';

const params = [['N', 'u32'], ['C', 'u32'], ['smoothing', 'f32'], ['scale', 'f32']] as const;

/** probs = softmax(logits) per row; loss[0] = scale·Σ_n ℓ_n. */
export const softmax_ce_fwd = kernel({ name: 'softmax_ce_fwd', family: 'softmax_ce', inputs: ['logits', 'labels'], outputs: ['probs', 'loss'], params });
/** dlogits = scale·dloss[0]·(probs − t). */
export const softmax_ce_bwd = kernel({ name: 'softmax_ce_bwd', family: 'softmax_ce', inputs: ['probs', 'labels', 'dloss'], outputs: ['dlogits'], params });
/** correct[0] = number of rows whose first maximal logit is at the label (as f32). */
export const softmax_ce_correct = kernel({ name: 'softmax_ce_correct', family: 'softmax_ce', inputs: ['logits', 'labels'], outputs: ['correct'], params: [['N', 'u32'], ['C', 'u32']] });

/** idx[n] (i32) = the index of the first maximal logit of row n. */
export const softmax_ce_argmax = kernel({ name: 'softmax_ce_argmax', family: 'softmax_ce', inputs: ['logits'], outputs: ['idx'], params: [['N', 'u32'], ['C', 'u32']] });

export const softmaxCeKernels = [softmax_ce_fwd, softmax_ce_bwd, softmax_ce_correct, softmax_ce_argmax];

export interface CrossEntropyAttrs {
  /** ε in [0, 1): mass spread uniformly over the classes. Default 0. */
  labelSmoothing?: number;
  /** 'mean' over the batch (default) or 'sum'. */
  reduction?: 'mean' | 'sum';
}

/** @internal Labels as an i32 tensor on `like`'s backend; host arrays are range-checked here. */
export function labelTensor(op: string, labels: Tensor | ArrayLike<number>, N: number, C: number, like: Tensor): { t: Tensor; owned: boolean } {
  if (labels instanceof Tensor) {
    labels.assertLive(op);
    if (labels.dtype !== 'i32') throw new Error(`${op}: labels must be an i32 tensor of class indices, got ${labels.describe()}`);
    if (labels.rank !== 1 || labels.shape[0] !== N) throw new Error(`${op}: labels must be [${N}] for logits [${N},${C}], got ${shapeStr(labels.shape)}`);
    if (labels.backend !== like.backend) throw new Error(`${op}: labels live on ${labels.backend.name} but logits on ${like.backend.name}`);
    // Labels uploaded from the host carry their range: an out-of-range one is an error here, not a
    // NaN loss later. Labels computed on the device are not checked (reading them would sync).
    const r = labels.storage.hostRange;
    if (r && (r.min < 0 || r.max >= C)) {
      const [v, i] = r.min < 0 ? [r.min, r.minAt] : [r.max, r.maxAt];
      throw new Error(`${op}: label ${v} at index ${i} is not a class index in 0..${C - 1}`);
    }
    return { t: labels, owned: false };
  }
  if (labels.length !== N) throw new Error(`${op}: got ${labels.length} labels for a batch of ${N}`);
  const data = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0 || v >= C) throw new Error(`${op}: label ${v} at index ${i} is not a class index in 0..${C - 1}`);
    data[i] = v;
  }
  const backend = like.backend;
  const buf = backend.alloc(N * 4, `${op} labels i32 [${N}]`);
  backend.upload(buf, data);
  return { t: new Tensor(new Storage(backend, buf, 'i32', N), [N], 'i32'), owned: true };
}

/**
 * Softmax cross-entropy of logits [N,C] against integer labels [N]; returns a one-element tensor.
 *
 * @example
 *   const loss = nn.functional.crossEntropy(logits, labels, { labelSmoothing: 0.1 });
 */
export function crossEntropy(logits: Tensor, labels: Tensor | ArrayLike<number>, attrs: CrossEntropyAttrs = {}): Tensor {
  const op = 'crossEntropy';
  const backend = backendOf(op, [logits]);
  requireF32(op, 'logits', logits);
  if (logits.rank !== 2) throw new Error(`${op}: logits must be 2-D [N, classes], got shape ${shapeStr(logits.shape)}`);
  const [N, C] = logits.shape;
  if (N === 0 || C === 0) throw new Error(`${op}: logits ${shapeStr(logits.shape)} are empty`);
  const smoothing = attrs.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing < 1)) throw new Error(`${op}: labelSmoothing must be in [0, 1), got ${smoothing}`);
  const reduction = attrs.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum') throw new Error(`${op}: reduction must be 'mean' or 'sum', got '${String(reduction)}'`);
  const scale = reduction === 'mean' ? 1 / N : 1;
  const { t: lab, owned } = labelTensor(op, labels, N, C, logits);
  const probs = output(`${op} probs`, [N, C], backend);
  const loss = output(op, [1], backend);
  const p = { N, C, smoothing, scale };
  dispatch(softmax_ce_fwd, p, [logits, lab], [probs, loss]);
  record(op, loss, [logits], [probs, lab], (dloss, [P, L]) => {
    const dz = output(`${op} dlogits`, [N, C], P.backend);
    dispatch(softmax_ce_bwd, p, [P, L, dloss], [dz]);
    return [dz];
  });
  probs.dispose();
  if (owned) lab.dispose();
  return loss;
}

/**
 * Number of rows of logits [N,C] whose argmax equals the label, as a one-element f32 tensor; NaN when
 * a label tensor holds a label outside 0..C−1 (a host array with one is an error).
 */
export function countCorrect(logits: Tensor, labels: Tensor | ArrayLike<number>): Tensor {
  const op = 'countCorrect';
  const backend = backendOf(op, [logits]);
  if (logits.rank !== 2) throw new Error(`${op}: logits must be 2-D [N, classes], got shape ${shapeStr(logits.shape)}`);
  const [N, C] = logits.shape;
  const { t: lab, owned } = labelTensor(op, labels, N, C, logits);
  const out = output(op, [1], backend);
  dispatch(softmax_ce_correct, { N, C }, [logits, lab], [out]);
  if (owned) lab.dispose();
  return out;
}

/**
 * The index of the largest value along the last axis (the predicted class of logits [N, C]), as an
 * i32 tensor of the other axes' shape (`[N]`); of equal maxima the first wins. No gradient.
 * PyTorch's `x.argmax(-1)`, TensorFlow.js's `tf.argMax(x, -1)`.
 *
 * @example
 *   const predicted = argmax(model.forward(x));        // i32 [N]
 *   console.log(await predicted.data());                // Int32Array of class indices
 */
export function argmax(x: Tensor): Tensor {
  const op = 'argmax';
  const backend = backendOf(op, [x]);
  requireF32(op, 'x', x);
  if (x.rank < 1) throw new Error(`${op}: needs at least one axis, got a scalar ${shapeStr(x.shape)}`);
  const C = x.shape[x.rank - 1];
  const outShape = x.rank === 1 ? [1] : x.shape.slice(0, -1);
  const N = outShape.reduce((a, b) => a * b, 1);
  if (C === 0) throw new Error(`${op}: the last axis of ${shapeStr(x.shape)} is empty`);
  const out = output(op, outShape, backend, 'i32');
  if (N > 0) dispatch(softmax_ce_argmax, { N, C }, [x], [out]);
  return out;
}

// ---- launch plan (engine/ops/launch.ts) ----------------------------------------------------------

/** More than 4 rows: per-row losses (and probs), then a full sum of the rows. */
export const softmax_ce_rows = kernel({ name: 'softmax_ce_rows', family: 'softmax_ce', inputs: ['logits', 'labels'], outputs: ['probs', 'rowLoss'], params });
export const softmax_ce_correct_rows = kernel({ name: 'softmax_ce_correct_rows', family: 'softmax_ce', inputs: ['logits', 'labels'], outputs: ['hits'], params: [['N', 'u32'], ['C', 'u32']] });
export const softmaxCeHelperKernels = [softmax_ce_rows, softmax_ce_correct_rows];

export const softmaxCePlans: Record<string, LaunchPlan> = {
  softmax_ce_fwd: (ctx, k, P, inputs, outputs) => {
    if (P.N <= 4) return [pass(k, P, [...inputs, ...outputs], [1, 1, 1])];
    const rows = ctx.scratch(P.N * 4, `softmax_ce row losses [${P.N}]`);
    const [logits, labels] = inputs;
    const [probs, loss] = outputs;
    return [pass(softmax_ce_rows, P, [logits, labels, probs, rows], grid1(P.N)), ...fullReducePasses(ctx, reduce_sum, rows, loss, P.N, P.scale, false)];
  },
  softmax_ce_correct: (ctx, k, P, inputs, outputs) => {
    if (P.N <= 4) return [pass(k, P, [...inputs, ...outputs], [1, 1, 1])];
    const hits = ctx.scratch(P.N * 4, `softmax_ce hits [${P.N}]`);
    return [pass(softmax_ce_correct_rows, P, [inputs[0], inputs[1], hits], grid1(P.N)), ...fullReducePasses(ctx, reduce_sum, hits, outputs[0], P.N, 1, false)];
  },
  softmax_ce_bwd: perItem((P) => P.N * P.C),
  softmax_ce_argmax: perItem((P) => P.N),
};
