// Helpers prepended to every family's module by the WebGPU backend (engine/backends/webgpu.ts), so each
// wgsl/<family>.wgsl is compiled as common.wgsl + itself. Declares no bindings and no entry points.
//
// Dispatch geometry convention for 1-D kernels: @workgroup_size(64); the host spreads ⌈n/64⌉ workgroups
// over x (at most 32768) and y, because one dispatch dimension is limited to 65535 workgroups.

const WG1: u32 = 64u;

/** Flat invocation index of a 1-D kernel dispatched as (x, y) workgroups of WG1. */
fn flat_id(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG1 + lid.x;
}

/** A quiet NaN: what kernels write where the maths is undefined (a label outside 0..C−1). */
fn nan_f32() -> f32 {
  // A runtime value: WGSL constant evaluation rejects a NaN.
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}
