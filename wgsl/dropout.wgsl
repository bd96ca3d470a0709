// Dropout and its Philox4x32-10 stream (twin of assembly/dropout.ts; op in engine/ops/dropout.ts).
// One invocation per element: element i computes the Philox block of counter ⌊i/4⌋ and keeps word
// i mod 4, so its bits depend only on the key and i, never on the dispatch geometry. Integer-only
// until the final f32 multiply, hence bit-identical to the WASM twin.
//
// Bindings: 0 params | dropout_apply: 1 x (read), 2 y (read_write) | dropout_bits: 1 y (read_write).

// @kernels dropout_apply
struct DropoutParams { n: u32, k0: u32, k1: u32, drop: u32, scale: f32 }
// @kernels dropout_bits
struct BitsParams { n: u32, c0: u32, c1: u32, c2: u32, c3: u32, k0: u32, k1: u32 }

@group(0) @binding(0) var<uniform> dp: DropoutParams;
@group(0) @binding(1) var<storage, read> ap_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> ap_y: array<f32>;

@group(0) @binding(0) var<uniform> bp: BitsParams;
@group(0) @binding(1) var<storage, read_write> bits_y: array<u32>;

/** (hi, lo) of the 64-bit product a·b, from 16-bit halves (WGSL has no widening multiply). */
fn mulhilo(a: u32, b: u32) -> vec2u {
  let al = a & 0xffffu;
  let ah = a >> 16u;
  let bl = b & 0xffffu;
  let bh = b >> 16u;
  let ll = al * bl;
  let lh = al * bh;
  let hl = ah * bl;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  let hi = ah * bh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
  return vec2u(hi, a * b);
}

/** Philox4x32-10: ten rounds, the key bumped by the Weyl constants between them. */
fn philox4x32_10(counter: vec4u, key: vec2u) -> vec4u {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    if (r > 0u) { k += vec2u(0x9E3779B9u, 0xBB67AE85u); }
    let p0 = mulhilo(0xD2511F53u, c.x);
    let p1 = mulhilo(0xCD9E8D57u, c.z);
    c = vec4u(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
  }
  return c;
}

@compute @workgroup_size(64)
fn dropout_apply(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= dp.n) { return; }
  let words = philox4x32_10(vec4u(i >> 2u, 0u, 0u, 0u), vec2u(dp.k0, dp.k1));
  // x · (keep ? scale : 0), not a select of x: a dropped NaN stays NaN, as in PyTorch.
  ap_y[i] = ap_x[i] * select(0.0, dp.scale, words[i & 3u] >= dp.drop);
}

@compute @workgroup_size(64)
fn dropout_bits(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = flat_id(wid, nwg, lid);
  if (i >= bp.n) { return; }
  // counter + ⌊i/4⌋ as a 128-bit add (carries ripple through the four words).
  let b = i >> 2u;
  let x0 = bp.c0 + b;
  var carry = select(0u, 1u, x0 < b);
  let x1 = bp.c1 + carry;
  carry = select(0u, 1u, x1 < carry);
  let x2 = bp.c2 + carry;
  carry = select(0u, 1u, x2 < carry);
  let words = philox4x32_10(vec4u(x0, x1, x2, bp.c3 + carry), vec2u(bp.k0, bp.k1));
  bits_y[i] = words[i & 3u];
}
