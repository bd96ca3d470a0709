// Reductions (twin of assembly/reduce.ts; ops in engine/ops/reduce.ts).
//
// Full reductions are a fixed-order tree of two levels, chosen by the host from n alone:
//   n ≤ 4096: reduce_sum / reduce_sumsq: one invocation sums x in order with 4 f32 lanes;
//   else: reduce_partial: T invocations (T from n), invocation t sums x[t], x[t+T], x[t+2T], ... (coalesced
//         on GPUs), squared when SQUARE = 1; then reduce_sum sums the T partials with the scale.
// reduce_splits finishes split reductions of other families (conv2d_bwd_w): y[i] = Σ_s p[s·count + i],
// s increasing. reduce_to: one invocation per output, summing its inputs in increasing input order.
// No atomics anywhere: the same n and the same data give the same bits on one adapter.
//
// Bindings: 0 params | reduce_sum, reduce_sumsq, reduce_partial, reduce_to, reduce_splits: 1 x, 2 y |
// reduce_sum_bwd: 1 dy, 2 dx | reduce_sumsq_bwd: 1 x, 2 dy, 3 dx.

// @kernels reduce_sum reduce_sumsq reduce_sum_bwd reduce_sumsq_bwd
struct ReduceParams { n: u32, scale: f32 }
// @kernels reduce_partial
struct PartialParams { n: u32, T: u32 }
// @kernels reduce_splits
struct SplitsParams { count: u32, splits: u32 }
// @kernels reduce_to
struct ToParams {
  n: u32, nout: u32,
  d0: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32,
  s0: u32, s1: u32, s2: u32, s3: u32, s4: u32, s5: u32,
}

override SQUARE: u32 = 0u;

@group(0) @binding(0) var<uniform> pr: ReduceParams;
@group(0) @binding(0) var<uniform> pp: PartialParams;
@group(0) @binding(0) var<uniform> ps: SplitsParams;
@group(0) @binding(0) var<uniform> pt: ToParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> sq_dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> sq_dx: array<f32>;

fn serial_sum(n: u32, squares: bool) -> f32 {
  var s = vec4f(0.0);
  var i = 0u;
  for (; i + 4u <= n; i += 4u) {
    var v = vec4f(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
    if (squares) { v = v * v; }
    s += v;
  }
  var t = (s.x + s.y) + (s.z + s.w);
  for (; i < n; i++) {
    let v = x[i];
    t += select(v, v * v, squares);
  }
  return t;
}

@compute @workgroup_size(1)
fn reduce_sum() {
  y[0] = serial_sum(pr.n, false) * pr.scale;
}

@compute @workgroup_size(1)
fn reduce_sumsq() {
  y[0] = serial_sum(pr.n, true) * pr.scale;
}

@compute @workgroup_size(64)
fn reduce_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = flat_id(wid, nwg, lid);
  if (t >= pp.T) { return; }
  var s = 0.0;
  for (var i = t; i < pp.n; i += pp.T) {
    let v = x[i];
    s += select(v, v * v, SQUARE == 1u);
  }
  y[t] = s;
}

@compute @workgroup_size(64)
fn reduce_splits(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= ps.count) { return; }
  var s = 0.0;
  for (var k = 0u; k < ps.splits; k++) { s += x[k * ps.count + i]; }
  y[i] = s;
}

@compute @workgroup_size(64)
fn reduce_sum_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= pr.n) { return; }
  y[i] = x[0] * pr.scale;
}

@compute @workgroup_size(64)
fn reduce_sumsq_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= pr.n) { return; }
  sq_dx[i] = x[i] * (2.0 * pr.scale * sq_dy[0]);
}

@compute @workgroup_size(64)
fn reduce_to(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let j = flat_id(wid, nwg, lid);
  if (j >= pt.nout) { return; }
  var d = array<u32, 6>(pt.d0, pt.d1, pt.d2, pt.d3, pt.d4, pt.d5);
  var s = array<u32, 6>(pt.s0, pt.s1, pt.s2, pt.s3, pt.s4, pt.s5);
  // Kept dims (stride ≠ 0) are fixed by j; summed dims run over their whole range.
  var lo: array<u32, 6>;
  var hi: array<u32, 6>;
  for (var k = 0u; k < 6u; k++) {
    if (s[k] != 0u) {
      lo[k] = (j / s[k]) % d[k];
      hi[k] = lo[k] + 1u;
    } else {
      lo[k] = 0u;
      hi[k] = d[k];
    }
  }
  var acc = 0.0;
  for (var i0 = lo[0]; i0 < hi[0]; i0++) {
    for (var i1 = lo[1]; i1 < hi[1]; i1++) {
      for (var i2 = lo[2]; i2 < hi[2]; i2++) {
        for (var i3 = lo[3]; i3 < hi[3]; i3++) {
          for (var i4 = lo[4]; i4 < hi[4]; i4++) {
            let row = ((((i0 * d[1] + i1) * d[2] + i2) * d[3] + i3) * d[4] + i4) * d[5];
            for (var i5 = lo[5]; i5 < hi[5]; i5++) { acc += x[row + i5]; }
          }
        }
      }
    }
  }
  y[j] = acc;
}
