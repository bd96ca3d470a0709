// Channel padding (twin of assembly/pad.ts; op in engine/ops/pad.ts). x [N,C,HW] → y [N,before+C+after,HW].
// One invocation per output element (fwd: y, bwd: dx); any sizes. Copies only: deterministic.
//
// Bindings: 0 params | pad_channels_fwd: 1 x, 2 y | pad_channels_bwd: 1 dy, 2 dx.

// @kernels pad_channels_fwd pad_channels_bwd
struct PadParams { N: u32, C: u32, HW: u32, before: u32, after: u32 }

@group(0) @binding(0) var<uniform> p: PadParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64)
fn pad_channels_fwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  let Cy = p.before + p.C + p.after;
  if (i >= p.N * Cy * p.HW) { return; }
  let hw = i % p.HW;
  let cy = (i / p.HW) % Cy;
  let n = i / (p.HW * Cy);
  var v = 0.0;
  if (cy >= p.before && cy < p.before + p.C) {
    v = src[(n * p.C + (cy - p.before)) * p.HW + hw];
  }
  dst[i] = v;
}

@compute @workgroup_size(64)
fn pad_channels_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= p.N * p.C * p.HW) { return; }
  let Cy = p.before + p.C + p.after;
  let hw = i % p.HW;
  let c = (i / p.HW) % p.C;
  let n = i / (p.HW * p.C);
  dst[i] = src[(n * Cy + c + p.before) * p.HW + hw];
}
