// Pooling (twin of assembly/pool2d.ts; op, letters and rules in engine/ops/pool2d.ts).
// x [N,C,H,W] → y [N,C,P,Q]. Forward kernels: one invocation per output element. Backward kernels are
// gathers, one invocation per dx element summing the windows that cover it in increasing (p, q) order,
// so no two invocations write one element: deterministic, no atomics. gap2d_fwd: one invocation per
// (n,c) plane, 4 f32 lanes then the tail, the same order as the WASM twin. Any sizes.
//
// Bindings: 0 params | maxpool2d_fwd: 1 x, 2 y, 3 idx (i32) | maxpool2d_bwd: 1 dy, 2 idx, 3 dx |
// avgpool2d_fwd, avgpool2d_bwd, gap2d_fwd, gap2d_bwd: 1 in, 2 out.

// @kernels maxpool2d_fwd maxpool2d_bwd avgpool2d_fwd avgpool2d_bwd
struct PoolParams {
  N: u32, C: u32, H: u32, W: u32, P: u32, Q: u32,
  kH: u32, kW: u32, strideH: u32, strideW: u32, padH: u32, padW: u32,
}
// @kernels gap2d_fwd gap2d_bwd
struct GapParams { NC: u32, HW: u32 }

@group(0) @binding(0) var<uniform> p: PoolParams;
@group(0) @binding(0) var<uniform> pg: GapParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read_write> mx_idx: array<i32>;
@group(0) @binding(2) var<storage, read> mxb_idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> mxb_dx: array<f32>;

@compute @workgroup_size(64)
fn maxpool2d_fwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = flat_id(wid, nwg, lid);
  if (o >= p.N * p.C * p.P * p.Q) { return; }
  let q = i32(o % p.Q);
  let pp = i32((o / p.Q) % p.P);
  let plane = o / (p.P * p.Q);
  let base = plane * p.H * p.W;
  var best = 0.0;
  var bi = -1;
  for (var r = 0; r < i32(p.kH); r++) {
    let h = pp * i32(p.strideH) - i32(p.padH) + r;
    if (h < 0 || h >= i32(p.H)) { continue; }
    for (var s = 0; s < i32(p.kW); s++) {
      let w = q * i32(p.strideW) - i32(p.padW) + s;
      if (w < 0 || w >= i32(p.W)) { continue; }
      let v = src[base + u32(h * i32(p.W) + w)];
      // First maximum in window order wins; a NaN wins and stays (as PyTorch and the WASM twin).
      if (bi < 0 || v > best || (v != v && best == best)) {
        best = v;
        bi = h * i32(p.W) + w;
      }
    }
  }
  // A window entirely in the padding cannot happen (padding ≤ half the window), but stay defined.
  var ninf = 0xff800000u;
  dst[o] = select(best, bitcast<f32>(ninf), bi < 0);
  mx_idx[o] = bi;
}

/** Windows (p, q) that contain input row h: p in [lo, hi] (hi < lo when none). */
fn window_range(h: i32, pad: i32, k: i32, stride: i32, count: i32) -> vec2i {
  // p·stride − pad ≤ h < p·stride − pad + k  ⇔  (h + pad − k)/stride < p ≤ (h + pad)/stride
  let lo = max(0, (h + pad - k + stride) / stride);
  let hi = min(count - 1, (h + pad) / stride);
  return vec2i(lo, hi);
}

@compute @workgroup_size(64)
fn maxpool2d_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= p.N * p.C * p.H * p.W) { return; }
  let w = i32(i % p.W);
  let h = i32((i / p.W) % p.H);
  let plane = i / (p.H * p.W);
  let pr = window_range(h, i32(p.padH), i32(p.kH), i32(p.strideH), i32(p.P));
  let qr = window_range(w, i32(p.padW), i32(p.kW), i32(p.strideW), i32(p.Q));
  let me = h * i32(p.W) + w;
  let dyo = plane * p.P * p.Q;
  var acc = 0.0;
  for (var pp = pr.x; pp <= pr.y; pp++) {
    for (var q = qr.x; q <= qr.y; q++) {
      let o = dyo + u32(pp * i32(p.Q) + q);
      if (mxb_idx[o] == me) { acc += src[o]; }
    }
  }
  mxb_dx[i] = acc;
}

@compute @workgroup_size(64)
fn avgpool2d_fwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = flat_id(wid, nwg, lid);
  if (o >= p.N * p.C * p.P * p.Q) { return; }
  let q = i32(o % p.Q);
  let pp = i32((o / p.Q) % p.P);
  let plane = o / (p.P * p.Q);
  let base = plane * p.H * p.W;
  var acc = 0.0;
  for (var r = 0; r < i32(p.kH); r++) {
    let h = pp * i32(p.strideH) - i32(p.padH) + r;
    if (h < 0 || h >= i32(p.H)) { continue; }
    for (var s = 0; s < i32(p.kW); s++) {
      let w = q * i32(p.strideW) - i32(p.padW) + s;
      if (w < 0 || w >= i32(p.W)) { continue; }
      acc += src[base + u32(h * i32(p.W) + w)];
    }
  }
  dst[o] = acc * (1.0 / f32(p.kH * p.kW));
}

@compute @workgroup_size(64)
fn avgpool2d_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= p.N * p.C * p.H * p.W) { return; }
  let w = i32(i % p.W);
  let h = i32((i / p.W) % p.H);
  let plane = i / (p.H * p.W);
  let pr = window_range(h, i32(p.padH), i32(p.kH), i32(p.strideH), i32(p.P));
  let qr = window_range(w, i32(p.padW), i32(p.kW), i32(p.strideW), i32(p.Q));
  let dyo = plane * p.P * p.Q;
  var acc = 0.0;
  for (var pp = pr.x; pp <= pr.y; pp++) {
    for (var q = qr.x; q <= qr.y; q++) { acc += src[dyo + u32(pp * i32(p.Q) + q)]; }
  }
  dst[i] = acc * (1.0 / f32(p.kH * p.kW));
}

@compute @workgroup_size(64)
fn gap2d_fwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let pl = flat_id(wid, nwg, lid);
  if (pl >= pg.NC) { return; }
  let base = pl * pg.HW;
  var s = vec4f(0.0);
  var i = 0u;
  for (; i + 4u <= pg.HW; i += 4u) {
    s += vec4f(src[base + i], src[base + i + 1u], src[base + i + 2u], src[base + i + 3u]);
  }
  var t = s.x + s.y + s.z + s.w;
  for (; i < pg.HW; i++) { t += src[base + i]; }
  dst[pl] = t * (1.0 / f32(pg.HW));
}

@compute @workgroup_size(64)
fn gap2d_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= pg.NC * pg.HW) { return; }
  dst[i] = src[i / pg.HW] * (1.0 / f32(pg.HW));
}
