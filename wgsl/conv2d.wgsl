// 2-D convolution (twin of assembly/conv2d.ts; op, letters and formulas in engine/ops/conv2d.ts).
// x [N,C,H,W], w [K,C,R,S] (OIHW), y/dy [N,K,P,Q]. Every kernel is an implicit GEMM: no im2col buffer,
// the patch addressing is done while loading, and each invocation owns a 4×4 block of the GEMM output
// in four vec4 accumulators (register blocking), with no workgroup memory and no barriers (CPU-backed
// adapters such as SwiftShader run barriers very slowly; see webgpu_plans.ts for the measurements).
//
//   conv2d_fwd     y  [K, N·P·Q] = w [K, C·R·S] · patches(x) [C·R·S, N·P·Q]
//                  invocation: 4 output channels × 4 consecutive output pixels (n,p,q flattened)
//   conv2d_bwd_x   dx [C, N·H·W] = wᵀ [C, K·R·S] · patches(dy) — the transposed convolution:
//                  a pixel (h,w) takes dy[p,q] where h = p·strideH − padH + r (stride divides)
//                  invocation: 4 input channels × 4 consecutive input pixels
//   conv2d_bwd_w   dw [K, C·R·S] = dy [K, N·P·Q] · patches(x)ᵀ, a GEMM whose reduction runs over N·P·Q
//                  invocation: 4 output channels × 4 consecutive (c,r,s), summing all of N·P·Q
//   conv2d_bwd_w_split  the same, but workgroup z = split s sums only chunk s of N·P·Q and writes
//                  partials[s, K, C·R·S]; reduce_splits (wgsl/reduce.wgsl) then adds the splits in order.
//                  This is the split reduction: parallelism without float atomics.
// Dispatch: @workgroup_size(8,8) → a 32×32 output tile; x = column tiles (folded into z above 65535
// for fwd and bwd_x), y = row tiles.
// Bounds: rows/columns past the edge are clamped onto the last valid one while computing and never
// stored; padding and out-of-range taps read as 0 through select(), never out of bounds.
// Determinism: each output sums its terms in a fixed order (c, r, s / r, s, k / n, p, q); split partials
// are added in split order; no atomics. Same inputs → same bits on one adapter.
//
// Bindings: 0 params | fwd: 1 x, 2 w, 3 y | bwd_x: 1 dy, 2 w, 3 dx | bwd_w (and _split): 1 x, 2 dy, 3 dw
// (split: partials).

// @kernels conv2d_fwd conv2d_bwd_x conv2d_bwd_w
struct ConvParams {
  N: u32, C: u32, H: u32, W: u32, K: u32, R: u32, S: u32,
  P: u32, Q: u32, strideH: u32, strideW: u32, padH: u32, padW: u32,
}
// @kernels conv2d_bwd_w_split
struct ConvSplitParams {
  N: u32, C: u32, H: u32, W: u32, K: u32, R: u32, S: u32,
  P: u32, Q: u32, strideH: u32, strideW: u32, padH: u32, padW: u32,
  splits: u32, chunk: u32,
}

@group(0) @binding(0) var<uniform> p: ConvParams;
@group(0) @binding(0) var<uniform> psp: ConvSplitParams;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

/** Gathers in0 at 4 indices where ok, 0 elsewhere (the index is forced to 0 to stay in bounds). */
fn gather4(idx: vec4u, ok: vec4<bool>) -> vec4f {
  let i = select(vec4u(0u), idx, ok);
  return select(vec4f(0.0), vec4f(in0[i.x], in0[i.y], in0[i.z], in0[i.w]), ok);
}

@compute @workgroup_size(8, 8)
fn conv2d_fwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = p;
  let PQ = g.P * g.Q;
  let NPQ = g.N * PQ;
  let j0 = ((wid.x + wid.z * nwg.x) * 8u + lid.x) * 4u;
  let k0 = (wid.y * 8u + lid.y) * 4u;
  if (j0 >= NPQ || k0 >= g.K) { return; }
  let HW = g.H * g.W;
  // The 4 output pixels: image base, and the top-left input tap of each window.
  let j = min(vec4u(j0) + vec4u(0u, 1u, 2u, 3u), vec4u(NPQ - 1u));
  let n = j / PQ;
  let pq = j % PQ;
  let xb = n * (g.C * HW);
  let hs = vec4i((pq / g.Q) * g.strideH) - vec4i(i32(g.padH));
  let ws = vec4i((pq % g.Q) * g.strideW) - vec4i(i32(g.padW));
  let CRS = g.C * g.R * g.S;
  let kc = min(vec4u(k0) + vec4u(0u, 1u, 2u, 3u), vec4u(g.K - 1u));
  let wb = kc * CRS;
  let Hi = i32(g.H);
  let Wi = i32(g.W);
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  var widx = 0u;
  for (var c = 0u; c < g.C; c++) {
    let cb = xb + vec4u(c * HW);
    for (var r = 0u; r < g.R; r++) {
      let h = hs + vec4i(i32(r));
      let hok = (h >= vec4i(0)) & (h < vec4i(Hi));
      let rowb = vec4i(cb) + h * Wi;
      for (var s = 0u; s < g.S; s++) {
        let w = ws + vec4i(i32(s));
        let ok = hok & (w >= vec4i(0)) & (w < vec4i(Wi));
        let xv = gather4(vec4u(rowb + w), ok);
        acc0 += in1[wb.x + widx] * xv;
        acc1 += in1[wb.y + widx] * xv;
        acc2 += in1[wb.z + widx] * xv;
        acc3 += in1[wb.w + widx] * xv;
        widx++;
      }
    }
  }
  // y[n, k, p, q] = acc_k[pixel]
  let accs = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let k = k0 + i;
    if (k >= g.K) { break; }
    let v = accs[i];
    for (var t = 0u; t < 4u; t++) {
      let jj = j0 + t;
      if (jj >= NPQ) { break; }
      out[((jj / PQ) * g.K + k) * PQ + jj % PQ] = v[t];
    }
  }
}

@compute @workgroup_size(8, 8)
fn conv2d_bwd_x(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = p;
  let HW = g.H * g.W;
  let NHW = g.N * HW;
  let PQ = g.P * g.Q;
  let j0 = ((wid.x + wid.z * nwg.x) * 8u + lid.x) * 4u;
  let c0 = (wid.y * 8u + lid.y) * 4u;
  if (j0 >= NHW || c0 >= g.C) { return; }
  let j = min(vec4u(j0) + vec4u(0u, 1u, 2u, 3u), vec4u(NHW - 1u));
  let n = j / HW;
  let hw = j % HW;
  let dyb = vec4i(n * (g.K * PQ));
  let hp = vec4i(hw / g.W + g.padH);
  let wp = vec4i(hw % g.W + g.padW);
  let RS = g.R * g.S;
  let CRS = g.C * RS;
  let cc = min(vec4u(c0) + vec4u(0u, 1u, 2u, 3u), vec4u(g.C - 1u));
  let wcb = cc * RS;
  let sh = vec4i(i32(g.strideH));
  let sw = vec4i(i32(g.strideW));
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var r = 0u; r < g.R; r++) {
    // Output row p with p·strideH − padH + r = h, when the stride divides and p is in range.
    let ph = hp - vec4i(i32(r));
    let pr = ph / sh;
    let hok = (ph >= vec4i(0)) & (ph - pr * sh == vec4i(0)) & (pr < vec4i(i32(g.P)));
    for (var s = 0u; s < g.S; s++) {
      let qw = wp - vec4i(i32(s));
      let qc = qw / sw;
      let ok = hok & (qw >= vec4i(0)) & (qw - qc * sw == vec4i(0)) & (qc < vec4i(i32(g.Q)));
      let base = vec4u(select(vec4i(0), dyb + pr * i32(g.Q) + qc, ok));
      let wrs = r * g.S + s;
      for (var k = 0u; k < g.K; k++) {
        let dyv = gather4(base + vec4u(k * PQ), ok);
        let wk = k * CRS + wrs;
        acc0 += in1[wk + wcb.x] * dyv;
        acc1 += in1[wk + wcb.y] * dyv;
        acc2 += in1[wk + wcb.z] * dyv;
        acc3 += in1[wk + wcb.w] * dyv;
      }
    }
  }
  let accs = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let c = c0 + i;
    if (c >= g.C) { break; }
    let v = accs[i];
    for (var t = 0u; t < 4u; t++) {
      let jj = j0 + t;
      if (jj >= NHW) { break; }
      out[((jj / HW) * g.C + c) * HW + jj % HW] = v[t];
    }
  }
}

/** dw block: out channels k0..k0+3 × taps q0..q0+3 (flattened c,r,s), summed over N·P·Q values [m0, m1). */
fn bwd_w_block(g: ConvParams, k0: u32, q0: u32, m0: u32, m1: u32) -> array<vec4f, 4> {
  let RS = g.R * g.S;
  let CRS = g.C * RS;
  let PQ = g.P * g.Q;
  let HW = g.H * g.W;
  let q = min(vec4u(q0) + vec4u(0u, 1u, 2u, 3u), vec4u(CRS - 1u));
  let cq = q / RS;
  let roff = vec4i((q % RS) / g.S) - vec4i(i32(g.padH));
  let soff = vec4i(q % g.S) - vec4i(i32(g.padW));
  let xcb = vec4i(cq * HW);
  let kk = min(vec4u(k0) + vec4u(0u, 1u, 2u, 3u), vec4u(g.K - 1u));
  let dko = kk * PQ;
  let Hi = vec4i(i32(g.H));
  let Wi = vec4i(i32(g.W));
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  // Walk (n, p, q) from m0 without a division per step.
  var n = m0 / PQ;
  var pp = (m0 % PQ) / g.Q;
  var qq = m0 % g.Q;
  for (var m = m0; m < m1; m++) {
    let h = vec4i(i32(pp * g.strideH)) + roff;
    let w = vec4i(i32(qq * g.strideW)) + soff;
    let ok = (h >= vec4i(0)) & (h < Hi) & (w >= vec4i(0)) & (w < Wi);
    let xv = gather4(vec4u(vec4i(i32(n * g.C * HW)) + xcb + h * Wi + w), ok);
    let dyb = n * g.K * PQ + pp * g.Q + qq;
    acc0 += in1[dyb + dko.x] * xv;
    acc1 += in1[dyb + dko.y] * xv;
    acc2 += in1[dyb + dko.z] * xv;
    acc3 += in1[dyb + dko.w] * xv;
    qq++;
    if (qq == g.Q) {
      qq = 0u;
      pp++;
      if (pp == g.P) { pp = 0u; n++; }
    }
  }
  return array<vec4f, 4>(acc0, acc1, acc2, acc3);
}

fn store_dw(base: u32, g: ConvParams, k0: u32, q0: u32, acc: array<vec4f, 4>) {
  let CRS = g.C * g.R * g.S;
  for (var i = 0u; i < 4u; i++) {
    let k = k0 + i;
    if (k >= g.K) { break; }
    let v = acc[i];
    for (var t = 0u; t < 4u; t++) {
      if (q0 + t >= CRS) { break; }
      out[base + k * CRS + q0 + t] = v[t];
    }
  }
}

@compute @workgroup_size(8, 8)
fn conv2d_bwd_w(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = p;
  let q0 = (wid.x * 8u + lid.x) * 4u;
  let k0 = (wid.y * 8u + lid.y) * 4u;
  if (q0 >= g.C * g.R * g.S || k0 >= g.K) { return; }
  store_dw(0u, g, k0, q0, bwd_w_block(g, k0, q0, 0u, g.N * g.P * g.Q));
}

@compute @workgroup_size(8, 8)
fn conv2d_bwd_w_split(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = ConvParams(psp.N, psp.C, psp.H, psp.W, psp.K, psp.R, psp.S, psp.P, psp.Q, psp.strideH, psp.strideW, psp.padH, psp.padW);
  let CRS = g.C * g.R * g.S;
  let q0 = (wid.x * 8u + lid.x) * 4u;
  let k0 = (wid.y * 8u + lid.y) * 4u;
  if (q0 >= CRS || k0 >= g.K) { return; }
  let NPQ = g.N * g.P * g.Q;
  let m0 = min(NPQ, wid.z * psp.chunk);
  let m1 = min(NPQ, m0 + psp.chunk);
  store_dw(wid.z * g.K * CRS, g, k0, q0, bwd_w_block(g, k0, q0, m0, m1));
}
