// Softmax cross-entropy kernels (twin of wgsl/softmax_ce.wgsl; op and formulas in
// engine/ops/softmax_ce.ts). logits [N,C], labels i32 [N]. Rows are processed and summed in order,
// on thread 0 alone (the loss sums over rows; these kernels are tiny next to the network).

import { threadIndex } from './parallel';

/** probs = softmax per row; loss[0] = scale·Σ_n −Σ_j t_j·(z_j − lse). */
export function softmax_ce_fwd(logits: usize, labels: usize, probs: usize, loss: usize, N: i32, C: i32, smoothing: f32, scale: f32): void {
  if (threadIndex() != 0) return;
  let total: f64 = 0;
  const off: f32 = smoothing / <f32>C;
  for (let n = 0; n < N; n++) {
    const z = logits + (<usize>(n * C) << 2);
    const pr = probs + (<usize>(n * C) << 2);
    let m: f32 = -Infinity;
    for (let j = 0; j < C; j++) m = max<f32>(m, load<f32>(z + (<usize>j << 2)));
    let se: f32 = 0;
    for (let j = 0; j < C; j++) se += Mathf.exp(load<f32>(z + (<usize>j << 2)) - m);
    const lse: f32 = m + Mathf.log(se);
    const label = load<i32>(labels + (<usize>n << 2));
    let row: f32 = 0;
    for (let j = 0; j < C; j++) {
      const zj = load<f32>(z + (<usize>j << 2));
      store<f32>(pr + (<usize>j << 2), Mathf.exp(zj - lse));
      const t: f32 = (j == label ? 1 - smoothing : 0) + off;
      row -= t * (zj - lse);
    }
    if (label < 0 || label >= C) row = NaN;
    total += <f64>row;
  }
  store<f32>(loss, <f32>(total * <f64>scale));
}

/** dlogits = scale·dloss[0]·(probs − t). */
export function softmax_ce_bwd(probs: usize, labels: usize, dloss: usize, dlogits: usize, N: i32, C: i32, smoothing: f32, scale: f32): void {
  if (threadIndex() != 0) return;
  const g: f32 = scale * load<f32>(dloss);
  const off: f32 = smoothing / <f32>C;
  for (let n = 0; n < N; n++) {
    const label = load<i32>(labels + (<usize>n << 2));
    const bad = label < 0 || label >= C;
    for (let j = 0; j < C; j++) {
      const o = <usize>(n * C + j) << 2;
      const t: f32 = (j == label ? 1 - smoothing : 0) + off;
      store<f32>(dlogits + o, bad ? NaN : g * (load<f32>(probs + o) - t));
    }
  }
}

/** The index of the first maximal value of the C floats at z. */
@inline function rowArgmax(z: usize, C: i32): i32 {
  let best: f32 = load<f32>(z);
  let bi = 0;
  for (let j = 1; j < C; j++) {
    const v = load<f32>(z + (<usize>j << 2));
    if (v > best) {
      best = v;
      bi = j;
    }
  }
  return bi;
}

/** correct[0] = rows whose first maximal logit is at the label; NaN when a label is outside 0..C−1. */
export function softmax_ce_correct(logits: usize, labels: usize, correct: usize, N: i32, C: i32): void {
  if (threadIndex() != 0) return;
  let count = 0;
  let bad = false;
  for (let n = 0; n < N; n++) {
    const label = load<i32>(labels + (<usize>n << 2));
    if (label < 0 || label >= C) bad = true;
    else if (rowArgmax(logits + (<usize>(n * C) << 2), C) == label) count++;
  }
  store<f32>(correct, bad ? NaN : <f32>count);
}

/** idx[n] = the index of the first maximal logit of row n (an argmax over the last axis). */
export function softmax_ce_argmax(logits: usize, idx: usize, N: i32, C: i32): void {
  if (threadIndex() != 0) return;
  for (let n = 0; n < N; n++) store<i32>(idx + (<usize>n << 2), rowArgmax(logits + (<usize>(n * C) << 2), C));
}
