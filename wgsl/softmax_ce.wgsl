// Softmax cross-entropy (twin of assembly/softmax_ce.ts; op and formulas in engine/ops/softmax_ce.ts).
// logits [N,C], labels i32 [N].
//   softmax_ce_fwd / softmax_ce_correct: one invocation does every row in order (small batches).
//   softmax_ce_rows / softmax_ce_correct_rows: one invocation per row writes that row's loss (or 0/1
//     hit) to a scratch vector; the host then runs reduce_sum over it (rows summed in a fixed order).
//   softmax_ce_bwd: one invocation per logit.
// A label outside 0..C−1 gives that row a NaN loss and NaN gradients, and makes the correct count NaN
// (kernels cannot throw).
// Deterministic: no atomics; sums run in row order.
//
// Bindings: 0 params | fwd, rows: 1 logits, 2 labels, 3 probs, 4 loss (rows: per-row losses) |
// bwd: 1 probs, 2 labels, 3 dloss, 4 dlogits | correct, correct_rows: 1 logits, 2 labels, 3 out |
// argmax (one invocation per row): 1 logits, 2 idx.

// @kernels softmax_ce_fwd softmax_ce_bwd softmax_ce_rows
struct CeParams { N: u32, C: u32, smoothing: f32, scale: f32 }
// @kernels softmax_ce_correct softmax_ce_correct_rows softmax_ce_argmax
struct CorrectParams { N: u32, C: u32 }

@group(0) @binding(0) var<uniform> p: CeParams;
@group(0) @binding(0) var<uniform> pc: CorrectParams;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(1) var<storage, read> b_probs: array<f32>;
@group(0) @binding(3) var<storage, read> b_dloss: array<f32>;
@group(0) @binding(4) var<storage, read_write> b_dlogits: array<f32>;
@group(0) @binding(3) var<storage, read_write> hits: array<f32>;
@group(0) @binding(2) var<storage, read_write> arg_idx: array<i32>;

/** Writes softmax(row n) into probs and returns the row's smoothed cross-entropy. */
fn ce_row(n: u32) -> f32 {
  let C = p.C;
  let z = n * C;
  var m = logits[z];
  for (var j = 1u; j < C; j++) { m = max(m, logits[z + j]); }
  var se = 0.0;
  for (var j = 0u; j < C; j++) { se += exp(logits[z + j] - m); }
  let lse = m + log(se);
  let label = labels[n];
  let off = p.smoothing / f32(C);
  var row = 0.0;
  for (var j = 0u; j < C; j++) {
    let zj = logits[z + j];
    probs[z + j] = exp(zj - lse);
    let t = select(0.0, 1.0 - p.smoothing, i32(j) == label) + off;
    row -= t * (zj - lse);
  }
  if (label < 0 || label >= i32(C)) { row = nan_f32(); }
  return row;
}

@compute @workgroup_size(1)
fn softmax_ce_fwd() {
  var total = 0.0;
  for (var n = 0u; n < p.N; n++) { total += ce_row(n); }
  loss[0] = total * p.scale;
}

@compute @workgroup_size(64)
fn softmax_ce_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n = flat_id(wid, nwg, lid);
  if (n >= p.N) { return; }
  loss[n] = ce_row(n);
}

@compute @workgroup_size(64)
fn softmax_ce_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= p.N * p.C) { return; }
  let n = i / p.C;
  let j = i % p.C;
  let label = labels[n];
  let t = select(0.0, 1.0 - p.smoothing, i32(j) == label) + p.smoothing / f32(p.C);
  let g = p.scale * b_dloss[0];
  b_dlogits[i] = select(g * (b_probs[i] - t), nan_f32(), label < 0 || label >= i32(p.C));
}

/** The index of the first maximal logit of row n. */
fn row_argmax(n: u32) -> i32 {
  let z = n * pc.C;
  var best = logits[z];
  var bi = 0;
  for (var j = 1u; j < pc.C; j++) {
    let v = logits[z + j];
    if (v > best) {
      best = v;
      bi = i32(j);
    }
  }
  return bi;
}

fn hit(n: u32) -> bool { return row_argmax(n) == labels[n]; }

@compute @workgroup_size(1)
fn softmax_ce_correct() {
  // Counts are exact in f32 up to 2^24 rows; a NaN row makes the count NaN.
  var count = 0.0;
  for (var n = 0u; n < pc.N; n++) { count += counted(n); }
  hits[0] = count;
}

/** 1 for a hit, 0 for a miss, NaN for a label outside 0..C−1 (so the count says the labels are bad). */
fn counted(n: u32) -> f32 {
  let label = labels[n];
  if (label < 0 || label >= i32(pc.C)) { return nan_f32(); }
  return select(0.0, 1.0, hit(n));
}

@compute @workgroup_size(64)
fn softmax_ce_correct_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n = flat_id(wid, nwg, lid);
  if (n >= pc.N) { return; }
  hits[n] = counted(n);
}

@compute @workgroup_size(64)
fn softmax_ce_argmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n = flat_id(wid, nwg, lid);
  if (n >= pc.N) { return; }
  arg_idx[n] = row_argmax(n);
}
