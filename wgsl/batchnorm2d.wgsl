// BatchNorm over NCHW (twin of assembly/batchnorm2d.ts; op, letters and formulas in
// engine/ops/batchnorm2d.ts). x, y [N,C,HW]; per-channel vectors [C]; M = N·HW values per channel,
// visited in the order (n, then hw).
//
// Statistics (two levels, fixed order; no atomics, so deterministic):
//   bn_stats: one invocation per channel: mean by a serial sum, then the biased variance Σ(x − mean)²/M
//     (two-pass, no cancellation). Used for small M.
//   bn_stats_partial + bn_stats_finish: invocation (c, s) takes chunk s of the channel's M values and
//     writes (count, chunk mean, chunk M2) with the same two-pass rule; the finish combines the chunks in
//     order with Chan et al.'s pairwise update (numerically stable, as Welford).
// Backward reductions likewise: bn_bwd_reduce (one invocation per channel) or bn_bwd_reduce_partial +
// bn_bwd_reduce_finish (Σdy and Σdy·(x − mean) per chunk, then per channel in chunk order).
// bn_fwd and bn_bwd_dx are elementwise (one invocation per element); bn_running one per channel.
//
// Bindings: 0 params, then the spec's inputs (read) and outputs (read_write) in order; partial passes:
// 1 x (2 dy, 3 mean for the backward) then partials; finishes: 1 partials (2 var) then the outputs.

// @kernels bn_stats
struct StatsParams { N: u32, C: u32, HW: u32 }
// @kernels bn_fwd bn_bwd_reduce
struct EpsParams { N: u32, C: u32, HW: u32, eps: f32 }
// @kernels bn_running
struct RunningParams { C: u32, momentum: f32, unbias: f32 }
// @kernels bn_bwd_dx
struct DxParams { N: u32, C: u32, HW: u32, eps: f32, training: u32 }
// @kernels bn_stats_partial bn_bwd_reduce_partial
struct PartialParams { N: u32, C: u32, HW: u32, S: u32 }
// @kernels bn_stats_finish
struct StatsFinishParams { C: u32, S: u32, M: u32 }
// @kernels bn_bwd_reduce_finish
struct ReduceFinishParams { C: u32, S: u32, eps: f32 }

override training: u32 = 1u;

@group(0) @binding(0) var<uniform> ps: StatsParams;
@group(0) @binding(0) var<uniform> pe: EpsParams;
@group(0) @binding(0) var<uniform> prun: RunningParams;
@group(0) @binding(0) var<uniform> pdx: DxParams;
@group(0) @binding(0) var<uniform> pp: PartialParams;
@group(0) @binding(0) var<uniform> psf: StatsFinishParams;
@group(0) @binding(0) var<uniform> prf: ReduceFinishParams;

@group(0) @binding(1) var<storage, read> x: array<f32>;
// bn_stats
@group(0) @binding(2) var<storage, read_write> st_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> st_var: array<f32>;
// bn_fwd
@group(0) @binding(2) var<storage, read> f_mean: array<f32>;
@group(0) @binding(3) var<storage, read> f_var: array<f32>;
@group(0) @binding(4) var<storage, read> f_gamma: array<f32>;
@group(0) @binding(5) var<storage, read> f_beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> f_y: array<f32>;
// bn_running: 1 mean, 2 var, 3 runningMean, 4 runningVar
@group(0) @binding(1) var<storage, read> r_mean: array<f32>;
@group(0) @binding(2) var<storage, read> r_var: array<f32>;
@group(0) @binding(3) var<storage, read_write> r_rmean: array<f32>;
@group(0) @binding(4) var<storage, read_write> r_rvar: array<f32>;
// bn_bwd_reduce: 1 x, 2 dy, 3 mean, 4 var, 5 dgamma, 6 dbeta
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> b_mean: array<f32>;
@group(0) @binding(4) var<storage, read> b_var: array<f32>;
@group(0) @binding(5) var<storage, read_write> b_dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> b_dbeta: array<f32>;
// bn_bwd_dx: 1 x, 2 dy, 3 mean, 4 var, 5 gamma, 6 dgamma, 7 dbeta, 8 dx
@group(0) @binding(5) var<storage, read> d_gamma: array<f32>;
@group(0) @binding(6) var<storage, read> d_dgamma: array<f32>;
@group(0) @binding(7) var<storage, read> d_dbeta: array<f32>;
@group(0) @binding(8) var<storage, read_write> d_dx: array<f32>;
// partials: bn_stats_partial 1 x, 2 out; bn_bwd_reduce_partial 1 x, 2 dy, 3 mean, 4 out
@group(0) @binding(2) var<storage, read_write> sp_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> bp_out: array<f32>;
// finishes: bn_stats_finish 1 partials, 2 mean, 3 var; bn_bwd_reduce_finish 1 partials, 2 var, 3 dgamma, 4 dbeta
@group(0) @binding(1) var<storage, read> parts: array<f32>;
@group(0) @binding(2) var<storage, read> rf_var: array<f32>;
@group(0) @binding(3) var<storage, read_write> rf_dgamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> rf_dbeta: array<f32>;

/** Index in x of value m (0 ≤ m < N·HW) of channel c. */
fn at(c: u32, m: u32, C: u32, HW: u32) -> u32 {
  return ((m / HW) * C + c) * HW + m % HW;
}

/** Σ x over values [m0, m1) of channel c, walking (n, hw) without a division per element. */
fn chan_sum(c: u32, m0: u32, m1: u32, C: u32, HW: u32) -> f32 {
  var n = m0 / HW;
  var i = m0 % HW;
  var s = 0.0;
  for (var m = m0; m < m1; m++) {
    s += x[(n * C + c) * HW + i];
    i++;
    if (i == HW) { i = 0u; n++; }
  }
  return s;
}

fn chan_sqdev(c: u32, m0: u32, m1: u32, C: u32, HW: u32, mean: f32) -> f32 {
  var n = m0 / HW;
  var i = m0 % HW;
  var s = 0.0;
  for (var m = m0; m < m1; m++) {
    let d = x[(n * C + c) * HW + i] - mean;
    s += d * d;
    i++;
    if (i == HW) { i = 0u; n++; }
  }
  return s;
}

@compute @workgroup_size(64)
fn bn_stats(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = flat_id(wid, nwg, lid);
  if (c >= ps.C) { return; }
  let M = ps.N * ps.HW;
  let mean = chan_sum(c, 0u, M, ps.C, ps.HW) / f32(M);
  st_mean[c] = mean;
  st_var[c] = chan_sqdev(c, 0u, M, ps.C, ps.HW, mean) / f32(M);
}

@compute @workgroup_size(64)
fn bn_stats_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let id = flat_id(wid, nwg, lid);
  if (id >= pp.C * pp.S) { return; }
  let c = id / pp.S;
  let s = id % pp.S;
  let M = pp.N * pp.HW;
  let chunk = (M + pp.S - 1u) / pp.S;
  let m0 = min(M, s * chunk);
  let m1 = min(M, m0 + chunk);
  let cnt = f32(m1 - m0);
  var mean = 0.0;
  var m2 = 0.0;
  if (m1 > m0) {
    mean = chan_sum(c, m0, m1, pp.C, pp.HW) / cnt;
    m2 = chan_sqdev(c, m0, m1, pp.C, pp.HW, mean);
  }
  sp_out[id * 3u] = cnt;
  sp_out[id * 3u + 1u] = mean;
  sp_out[id * 3u + 2u] = m2;
}

@compute @workgroup_size(64)
fn bn_stats_finish(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = flat_id(wid, nwg, lid);
  if (c >= psf.C) { return; }
  var na = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var s = 0u; s < psf.S; s++) {
    let o = (c * psf.S + s) * 3u;
    let nb = parts[o];
    if (nb == 0.0) { continue; }
    let n = na + nb;
    let delta = parts[o + 1u] - mean;
    mean += delta * (nb / n);
    m2 += parts[o + 2u] + delta * delta * (na * nb / n);
    na = n;
  }
  st_mean[c] = mean;
  st_var[c] = m2 / f32(psf.M);
}

@compute @workgroup_size(64)
fn bn_fwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= pe.N * pe.C * pe.HW) { return; }
  let c = (i / pe.HW) % pe.C;
  let invstd = 1.0 / sqrt(f_var[c] + pe.eps);
  let scale = f_gamma[c] * invstd;
  let shift = f_beta[c] - f_mean[c] * scale;
  f_y[i] = x[i] * scale + shift;
}

@compute @workgroup_size(64)
fn bn_running(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = flat_id(wid, nwg, lid);
  if (c >= prun.C) { return; }
  r_rmean[c] = (1.0 - prun.momentum) * r_rmean[c] + prun.momentum * r_mean[c];
  r_rvar[c] = (1.0 - prun.momentum) * r_rvar[c] + prun.momentum * r_var[c] * prun.unbias;
}

/** (Σ dy, Σ dy·(x − mean)) over values [m0, m1) of channel c. */
fn chan_bwd_sums(c: u32, m0: u32, m1: u32, C: u32, HW: u32, mean: f32) -> vec2f {
  var n = m0 / HW;
  var i = m0 % HW;
  var s = vec2f(0.0);
  for (var m = m0; m < m1; m++) {
    let k = (n * C + c) * HW + i;
    let g = dy[k];
    s += vec2f(g, g * (x[k] - mean));
    i++;
    if (i == HW) { i = 0u; n++; }
  }
  return s;
}

@compute @workgroup_size(64)
fn bn_bwd_reduce(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = flat_id(wid, nwg, lid);
  if (c >= pe.C) { return; }
  let s = chan_bwd_sums(c, 0u, pe.N * pe.HW, pe.C, pe.HW, b_mean[c]);
  b_dbeta[c] = s.x;
  b_dgamma[c] = s.y * (1.0 / sqrt(b_var[c] + pe.eps));
}

@compute @workgroup_size(64)
fn bn_bwd_reduce_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let id = flat_id(wid, nwg, lid);
  if (id >= pp.C * pp.S) { return; }
  let c = id / pp.S;
  let s = id % pp.S;
  let M = pp.N * pp.HW;
  let chunk = (M + pp.S - 1u) / pp.S;
  let m0 = min(M, s * chunk);
  let m1 = min(M, m0 + chunk);
  let r = chan_bwd_sums(c, m0, m1, pp.C, pp.HW, b_mean[c]);
  bp_out[id * 2u] = r.x;
  bp_out[id * 2u + 1u] = r.y;
}

@compute @workgroup_size(64)
fn bn_bwd_reduce_finish(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = flat_id(wid, nwg, lid);
  if (c >= prf.C) { return; }
  var s = vec2f(0.0);
  for (var k = 0u; k < prf.S; k++) {
    let o = (c * prf.S + k) * 2u;
    s += vec2f(parts[o], parts[o + 1u]);
  }
  rf_dbeta[c] = s.x;
  rf_dgamma[c] = s.y * (1.0 / sqrt(rf_var[c] + prf.eps));
}

@compute @workgroup_size(64)
fn bn_bwd_dx(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= pdx.N * pdx.C * pdx.HW) { return; }
  let c = (i / pdx.HW) % pdx.C;
  let M = f32(pdx.N) * f32(pdx.HW);
  let mu = b_mean[c];
  let invstd = 1.0 / sqrt(b_var[c] + pdx.eps);
  let a = d_gamma[c] * invstd;
  var b = 0.0;
  var d = 0.0;
  if (training == 1u) {
    b = -a * invstd * d_dgamma[c] / M;
    d = -a * d_dbeta[c] / M;
  }
  d_dx[i] = a * dy[i] + b * (x[i] - mu) + d;
}
