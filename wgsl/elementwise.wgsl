// Elementwise kernels (twin of assembly/elementwise.ts; ops in engine/ops/elementwise.ts).
// One invocation per output element, any n (the tail workgroup returns early).
// Broadcast kernels: the output has dims d0..d5 (row-major); a0..a5 / b0..b5 are the element strides of
// the inputs along them (0 where broadcast). `contig` is an override constant (part of the pipeline key):
// 1 when a, b and y share one shape, which skips the index arithmetic.
// Elementwise: no reductions, deterministic. ew_copy moves 32-bit words as u32, so i32 tensors and NaN
// payloads are copied bit-exactly (an f32 round trip may flush denormals on some GPUs).
//
// Bindings: 0 params, then inputs (read), then outputs (read_write), as each kernel's spec.

// @kernels ew_add ew_sub ew_mul
struct BcastParams {
  n: u32, contig: u32,
  d0: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32,
  a0: u32, a1: u32, a2: u32, a3: u32, a4: u32, a5: u32,
  b0: u32, b1: u32, b2: u32, b3: u32, b4: u32, b5: u32,
}
// @kernels ew_affine
struct AffineParams { n: u32, alpha: f32, beta: f32 }
// @kernels ew_square ew_square_bwd ew_copy
struct CountParams { n: u32 }
// @kernels ew_fill
struct FillParams { n: u32, value: f32 }

override contig: u32 = 0u;

@group(0) @binding(0) var<uniform> pb: BcastParams;
@group(0) @binding(1) var<storage, read> ba: array<f32>;
@group(0) @binding(2) var<storage, read> bb: array<f32>;
@group(0) @binding(3) var<storage, read_write> by: array<f32>;

@group(0) @binding(0) var<uniform> pa: AffineParams;
@group(0) @binding(0) var<uniform> pc: CountParams;
@group(0) @binding(0) var<uniform> pf: FillParams;
@group(0) @binding(1) var<storage, read> ux: array<f32>;
@group(0) @binding(2) var<storage, read_write> uy: array<f32>;
@group(0) @binding(2) var<storage, read> udy: array<f32>;
@group(0) @binding(3) var<storage, read_write> udx: array<f32>;
@group(0) @binding(1) var<storage, read_write> fy: array<f32>;
@group(0) @binding(1) var<storage, read> cx: array<u32>;
@group(0) @binding(2) var<storage, read_write> cy: array<u32>;

/** Offsets into a and b of output element i (row-major over d0..d5). */
fn bcast_offsets(i: u32) -> vec2u {
  var r = i;
  let i5 = r % pb.d5; r = r / pb.d5;
  let i4 = r % pb.d4; r = r / pb.d4;
  let i3 = r % pb.d3; r = r / pb.d3;
  let i2 = r % pb.d2; r = r / pb.d2;
  let i1 = r % pb.d1;
  let i0 = r / pb.d1;
  let oa = i0 * pb.a0 + i1 * pb.a1 + i2 * pb.a2 + i3 * pb.a3 + i4 * pb.a4 + i5 * pb.a5;
  let ob = i0 * pb.b0 + i1 * pb.b1 + i2 * pb.b2 + i3 * pb.b3 + i4 * pb.b4 + i5 * pb.b5;
  return vec2u(oa, ob);
}

fn operands(i: u32) -> vec2f {
  if (contig == 1u) { return vec2f(ba[i], bb[i]); }
  let o = bcast_offsets(i);
  return vec2f(ba[o.x], bb[o.y]);
}

@compute @workgroup_size(64)
fn ew_add(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= pb.n) { return; }
  let v = operands(i);
  by[i] = v.x + v.y;
}

@compute @workgroup_size(64)
fn ew_sub(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= pb.n) { return; }
  let v = operands(i);
  by[i] = v.x - v.y;
}

@compute @workgroup_size(64)
fn ew_mul(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= pb.n) { return; }
  let v = operands(i);
  by[i] = v.x * v.y;
}

@compute @workgroup_size(64)
fn ew_affine(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= pa.n) { return; }
  uy[i] = ux[i] * pa.alpha + pa.beta;
}

@compute @workgroup_size(64)
fn ew_square(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= pc.n) { return; }
  let v = ux[i];
  uy[i] = v * v;
}

@compute @workgroup_size(64)
fn ew_square_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= pc.n) { return; }
  udx[i] = 2.0 * ux[i] * udy[i];
}

@compute @workgroup_size(64)
fn ew_fill(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= pf.n) { return; }
  fy[i] = pf.value;
}

@compute @workgroup_size(64)
fn ew_copy(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= pc.n) { return; }
  cy[i] = cx[i];
}
