// Optimizer kernels (twin of assembly/optim.ts; specs and formulas in engine/ops/optim.ts, the
// algorithms in engine/optim/*.ts, PUGD step by step in docs/pugd.md).
//
// Entry points:
//   optim_sumsq, optim_sumsq_wg, optim_sumsq_add  @workgroup_size(256); one workgroup per CHUNK = 4096
//                                                 elements: writes that chunk's Σ x² into
//                                                 partials[slot + chunk] (ideal: ⌈n/4096⌉ workgroups)
//   optim_norm_finish                             @workgroup_size(256); the first workgroup reduces
//                                                 `count` slots into one norm (ideal: 1 workgroup)
//   optim_perturb, optim_sgd_step, optim_adam_step  @workgroup_size(64), the engine's 1-D convention;
//                                                 one element per invocation (ideal: ⌈n/64⌉ workgroups
//                                                 over x, and y beyond 65535)
// Every kernel loops grid-stride over a linear workgroup index (x, then y, then z), so any dispatch
// size and shape is correct; the ideal one does one pass.
//
// Bindings: 0 = params uniform (fields in spec order; `// @kernels` names the kernel each struct
// belongs to), then the inputs (read-only storage), then the outputs (read_write). Outputs that are also read (w, buf, m, v: in-place updates) are bound only as
// outputs. `override` constants: power (optim_perturb); sumGrads, normalize, restore, nesterov,
// hasMomentum (optim_sgd_step); decoupled, restore (optim_adam_step).
//
// Letters: n elements of one tensor; w, g, g1, g2, wsave, buf, m, v as in engine/ops/optim.ts.
//
// Determinism (no atomics): in a chunk, thread t sums elements t, t+256, …, t+15·256 in order, then
// the 256 thread sums are added in a fixed two-level order (tree_sum); the finish: thread t sums slots
// t, t+256, … in order, then the same two levels. Same sizes → same order → same bits.
// Non-finite values are detected on the bit pattern (exponent all ones): WGSL lets compilers assume
// NaN-free arithmetic, so `x != x` style tests may be folded away. Values read straight from memory
// (the loss) are therefore tested exactly; a NaN produced inside a sum is caught on every driver that
// propagates NaN/Inf as IEEE does (all we know of). A bad step is marked by writing −1 as its norm
// (norms are ≥ 0), so no kernel ever has to produce or compare a NaN.

const CHUNK: u32 = 4096u;
const WG: u32 = 256u; // reduction kernels
const WG_EW: u32 = 64u; // elementwise kernels
const BAD_NORM: f32 = -1.0;

var<workgroup> red: array<f32, 256>;

fn is_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn wg_linear(wid: vec3u, nwg: vec3u) -> u32 {
  return (wid.z * nwg.y + wid.y) * nwg.x + wid.x;
}

fn wg_count(nwg: vec3u) -> u32 {
  return nwg.x * nwg.y * nwg.z;
}

// Fixed-order sum of red[0..256), called by every thread of the workgroup: threads 0–15 each add
// 16 consecutive values in index order, then thread 0 adds those 16 sums in order. Two levels instead
// of an 8-level binary tree: three barriers, which is what costs on software rasterisers
// (SwiftShader), and nothing that matters on a GPU. Returns the same value to every thread.
fn tree_sum(lid: u32) -> f32 {
  workgroupBarrier();
  if (lid < 16u) {
    var s = 0.0;
    for (var j = 0u; j < 16u; j++) {
      s += red[lid * 16u + j];
    }
    red[lid * 16u] = s;
  }
  workgroupBarrier();
  if (lid == 0u) {
    var s = 0.0;
    for (var j = 0u; j < 16u; j++) {
      s += red[j * 16u];
    }
    red[0] = s;
  }
  workgroupBarrier();
  let total = red[0];
  workgroupBarrier(); // red is reused by the caller's next round
  return total;
}

// ---- Σ x² per chunk -----------------------------------------------------------------------------

// @kernels optim_sumsq
struct OptimSumsqParams {
  n: u32,
  slot: u32,
}
@group(0) @binding(0) var<uniform> sq: OptimSumsqParams;
@group(0) @binding(1) var<storage, read> sq_g: array<f32>;
@group(0) @binding(2) var<storage, read_write> sq_partials: array<f32>;

@compute @workgroup_size(256)
fn optim_sumsq(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let chunks = (sq.n + CHUNK - 1u) / CHUNK;
  for (var c = wg_linear(wid, nwg); c < chunks; c += wg_count(nwg)) {
    var acc = 0.0;
    for (var j = 0u; j < CHUNK / WG; j++) {
      let i = c * CHUNK + j * WG + lid;
      if (i < sq.n) {
        let v = sq_g[i];
        acc += v * v;
      }
    }
    red[lid] = acc;
    let total = tree_sum(lid);
    if (lid == 0u) {
      sq_partials[sq.slot + c] = total;
    }
  }
}

// @kernels optim_sumsq_wg
struct OptimSumsqWgParams {
  n: u32,
  slot: u32,
  eta: f32,
}
@group(0) @binding(0) var<uniform> sqw: OptimSumsqWgParams;
@group(0) @binding(1) var<storage, read> sqw_w: array<f32>;
@group(0) @binding(2) var<storage, read> sqw_g: array<f32>;
@group(0) @binding(3) var<storage, read_write> sqw_partials: array<f32>;

@compute @workgroup_size(256)
fn optim_sumsq_wg(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let chunks = (sqw.n + CHUNK - 1u) / CHUNK;
  for (var c = wg_linear(wid, nwg); c < chunks; c += wg_count(nwg)) {
    var acc = 0.0;
    for (var j = 0u; j < CHUNK / WG; j++) {
      let i = c * CHUNK + j * WG + lid;
      if (i < sqw.n) {
        let v = (abs(sqw_w[i]) + sqw.eta) * sqw_g[i];
        acc += v * v;
      }
    }
    red[lid] = acc;
    let total = tree_sum(lid);
    if (lid == 0u) {
      sqw_partials[sqw.slot + c] = total;
    }
  }
}

// @kernels optim_sumsq_add
struct OptimSumsqAddParams {
  n: u32,
  slot: u32,
}
@group(0) @binding(0) var<uniform> sqa: OptimSumsqAddParams;
@group(0) @binding(1) var<storage, read> sqa_a: array<f32>;
@group(0) @binding(2) var<storage, read> sqa_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> sqa_partials: array<f32>;

@compute @workgroup_size(256)
fn optim_sumsq_add(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let chunks = (sqa.n + CHUNK - 1u) / CHUNK;
  for (var c = wg_linear(wid, nwg); c < chunks; c += wg_count(nwg)) {
    var acc = 0.0;
    for (var j = 0u; j < CHUNK / WG; j++) {
      let i = c * CHUNK + j * WG + lid;
      if (i < sqa.n) {
        let v = sqa_a[i] + sqa_b[i];
        acc += v * v;
      }
    }
    red[lid] = acc;
    let total = tree_sum(lid);
    if (lid == 0u) {
      sqa_partials[sqa.slot + c] = total;
    }
  }
}

// ---- the global norm ----------------------------------------------------------------------------

// @kernels optim_norm_finish
struct OptimNormFinishParams {
  first: u32,
  count: u32,
  out: u32,
  step: u32,
}
@group(0) @binding(0) var<uniform> nf: OptimNormFinishParams;
@group(0) @binding(1) var<storage, read> nf_partials: array<f32>;
@group(0) @binding(2) var<storage, read> nf_loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> nf_norms: array<f32>;
@group(0) @binding(4) var<storage, read_write> nf_status: array<i32>;

@compute @workgroup_size(256)
fn optim_norm_finish(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  if (wg_linear(wid, nwg) != 0u) {
    return; // one workgroup does the whole reduction (uniform per workgroup, so barriers stay valid)
  }
  var acc = 0.0;
  for (var s = lid; s < nf.count; s += WG) {
    acc += nf_partials[nf.first + s];
  }
  red[lid] = acc;
  let total = tree_sum(lid);
  if (lid == 0u) {
    var r = sqrt(total);
    var reason = 0;
    if (!is_finite(nf_loss[0])) {
      reason = 1;
    } else if (!is_finite(total) || !is_finite(r)) {
      reason = 2;
    }
    if (reason != 0) {
      r = BAD_NORM; // every kernel that reads this norm skips its update
      if (nf_status[0] < 0) {
        nf_status[0] = i32(nf.step);
        nf_status[1] = reason;
        nf_status[2] = i32(nf.out);
      }
      nf_status[3] = i32(nf.step);
    }
    nf_norms[nf.out] = r;
  }
}

// ---- perturbation -------------------------------------------------------------------------------

override power: u32 = 1u;

// @kernels optim_perturb
struct OptimPerturbParams {
  n: u32,
  radius: f32,
  eta: f32,
  eps: f32,
  normIdx: u32,
  power: u32,
}
@group(0) @binding(0) var<uniform> pt: OptimPerturbParams;
@group(0) @binding(1) var<storage, read> pt_g: array<f32>;
@group(0) @binding(2) var<storage, read> pt_norms: array<f32>;
@group(0) @binding(3) var<storage, read_write> pt_w: array<f32>;
@group(0) @binding(4) var<storage, read_write> pt_wsave: array<f32>;

@compute @workgroup_size(64)
fn optim_perturb(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let a = pt_norms[pt.normIdx];
  let ok = a >= 0.0;
  let den = a + pt.eps;
  let stride = wg_count(nwg) * WG_EW;
  for (var i = wg_linear(wid, nwg) * WG_EW + lid; i < pt.n; i += stride) {
    let wi = pt_w[i];
    pt_wsave[i] = wi; // the exact copy the update restores from (no restore by subtraction)
    if (ok) {
      var tg = pt_g[i];
      if (power >= 1u) {
        let t = abs(wi) + pt.eta;
        tg = t * tg;
        if (power == 2u) {
          tg = t * tg;
        }
      }
      pt_w[i] = wi + (tg / den) * pt.radius;
    }
  }
}

// ---- momentum SGD (PUGD's fused update) ---------------------------------------------------------

override sumGrads: u32 = 0u;
override normalize: u32 = 0u;
override restore: u32 = 0u;
override nesterov: u32 = 0u;
override hasMomentum: u32 = 1u;

// @kernels optim_sgd_step
struct OptimSgdStepParams {
  n: u32,
  lr: f32,
  momentum: f32,
  oneMinusDampening: f32,
  weightDecay: f32,
  eps: f32,
  normIdx: u32,
  guardIdx: u32,
  first: u32,
  sumGrads: u32,
  normalize: u32,
  restore: u32,
  nesterov: u32,
  hasMomentum: u32,
}
@group(0) @binding(0) var<uniform> sg: OptimSgdStepParams;
@group(0) @binding(1) var<storage, read> sg_g1: array<f32>;
@group(0) @binding(2) var<storage, read> sg_g2: array<f32>;
@group(0) @binding(3) var<storage, read> sg_wsave: array<f32>;
@group(0) @binding(4) var<storage, read> sg_norms: array<f32>;
@group(0) @binding(5) var<storage, read_write> sg_w: array<f32>;
@group(0) @binding(6) var<storage, read_write> sg_buf: array<f32>;

@compute @workgroup_size(64)
fn optim_sgd_step(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let nrm = sg_norms[sg.normIdx];
  let ok = sg_norms[sg.guardIdx] >= 0.0 && nrm >= 0.0;
  let den = nrm + sg.eps;
  let stride = wg_count(nwg) * WG_EW;
  for (var i = wg_linear(wid, nwg) * WG_EW + lid; i < sg.n; i += stride) {
    var wr: f32;
    if (restore != 0u) {
      wr = sg_wsave[i];
    } else {
      wr = sg_w[i];
    }
    if (!ok) {
      // A non-finite loss or norm: keep (or restore) the weights, leave the momentum alone.
      sg_w[i] = wr;
      if (hasMomentum != 0u && sg.first != 0u) {
        sg_buf[i] = 0.0;
      }
      continue;
    }
    var s = sg_g2[i];
    if (sumGrads != 0u) {
      s = sg_g1[i] + s;
    }
    var u = s;
    if (normalize != 0u) {
      u = s / den;
    }
    let d = u + sg.weightDecay * wr;
    var st = d;
    if (hasMomentum != 0u) {
      var b = d;
      if (sg.first == 0u) {
        b = sg.momentum * sg_buf[i] + sg.oneMinusDampening * d;
      }
      sg_buf[i] = b;
      if (nesterov != 0u) {
        st = d + sg.momentum * b;
      } else {
        st = b;
      }
    }
    sg_w[i] = wr - sg.lr * st;
  }
}

// ---- Adam / AdamW -------------------------------------------------------------------------------

override decoupled: u32 = 0u;

// @kernels optim_adam_step
struct OptimAdamStepParams {
  n: u32,
  stepSize: f32,
  oneMinusBeta1: f32,
  beta2: f32,
  oneMinusBeta2: f32,
  bc2Sqrt: f32,
  eps: f32,
  weightDecay: f32,
  decay: f32,
  guardIdx: u32,
  guard2Idx: u32,
  decoupled: u32,
  restore: u32,
}
@group(0) @binding(0) var<uniform> ad: OptimAdamStepParams;
@group(0) @binding(1) var<storage, read> ad_g: array<f32>;
@group(0) @binding(2) var<storage, read> ad_wsave: array<f32>;
@group(0) @binding(3) var<storage, read> ad_norms: array<f32>;
@group(0) @binding(4) var<storage, read_write> ad_w: array<f32>;
@group(0) @binding(5) var<storage, read_write> ad_m: array<f32>;
@group(0) @binding(6) var<storage, read_write> ad_v: array<f32>;

@compute @workgroup_size(64)
fn optim_adam_step(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let ok = ad_norms[ad.guardIdx] >= 0.0 && ad_norms[ad.guard2Idx] >= 0.0;
  let stride = wg_count(nwg) * WG_EW;
  for (var i = wg_linear(wid, nwg) * WG_EW + lid; i < ad.n; i += stride) {
    var wv: f32;
    if (restore != 0u) {
      wv = ad_wsave[i];
    } else {
      wv = ad_w[i];
    }
    if (!ok) {
      ad_w[i] = wv;
      continue;
    }
    var gg = ad_g[i];
    if (decoupled != 0u) {
      wv = wv * ad.decay;
    } else if (ad.weightDecay != 0.0) {
      gg = gg + ad.weightDecay * wv;
    }
    let mo = ad_m[i];
    let mv = mo + ad.oneMinusBeta1 * (gg - mo);
    let vv = ad.beta2 * ad_v[i] + ad.oneMinusBeta2 * gg * gg;
    ad_m[i] = mv;
    ad_v[i] = vv;
    let denom = sqrt(vv) / ad.bc2Sqrt + ad.eps;
    ad_w[i] = wv - ad.stepSize * (mv / denom);
  }
}
