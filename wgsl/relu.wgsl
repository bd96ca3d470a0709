// ReLU (twin of assembly/relu.ts; op in engine/ops/relu.ts). One invocation per element; n any size
// (the tail workgroup returns early). Elementwise, so trivially deterministic.
//
// Bindings: 0 params | relu_fwd: 1 x (read), 2 y (read_write) | relu_bwd: 1 x, 2 dy (read), 3 dx.

// @kernels relu_fwd relu_bwd
struct ReluParams { n: u32 }

@group(0) @binding(0) var<uniform> p: ReluParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> fwd_y: array<f32>;
@group(0) @binding(2) var<storage, read> bwd_dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> bwd_dx: array<f32>;

@compute @workgroup_size(64)
fn relu_fwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= p.n) { return; }
  let v = x[i];
  // max(v, 0) but NaN stays NaN (as the WASM twin's f32x4.max); WGSL's max leaves NaN unspecified.
  fwd_y[i] = select(0.0, v, !(v <= 0.0));
}

@compute @workgroup_size(64)
fn relu_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= p.n) { return; }
  bwd_dx[i] = select(0.0, bwd_dy[i], x[i] > 0.0);
}
