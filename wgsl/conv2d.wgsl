// 2-D convolution (twin of assembly/conv2d.ts; op, letters and formulas in engine/ops/conv2d.ts).
// x [N,C,H,W], w [K,C,R,S] (OIHW), y/dy [N,K,P,Q]. Every kernel is an implicit GEMM: no im2col buffer,
// the patch addressing is done while loading, and each invocation owns a 4×4 block of the GEMM output
// in four vec4 accumulators (register blocking), with no workgroup memory and no barriers (CPU-backed
// adapters such as SwiftShader run barriers very slowly; see engine/ops/launch.ts for the measurements).
//
//   conv2d_fwd     y  [K, N·P·Q] = w [K, C·R·S] · patches(x) [C·R·S, N·P·Q]
//                  invocation: 4 output channels × 8 consecutive output pixels (n,p,q flattened)
//   conv2d_bwd_x   dx [C, N·H·W] = wᵀ [C, K·R·S] · patches(dy) — the transposed convolution:
//                  a pixel (h,w) takes dy[p,q] where h = p·strideH − padH + r (stride divides)
//                  invocation: 4 input channels × 8 consecutive input pixels; taps that miss
//                  every pixel of the block (stride > 1) are skipped
//   conv2d_bwd_w   dw [K, C·R·S] = dy [K, N·P·Q] · patches(x)ᵀ, a GEMM whose reduction runs over N·P·Q
//                  invocation: 4 output channels × 8 consecutive (c,r,s), summing all of N·P·Q
//   conv2d_bwd_w_split  the same, but workgroup z = split s sums only chunk s of N·P·Q and writes
//                  partials[s, K, C·R·S]; reduce_splits (wgsl/reduce.wgsl) then adds the splits in order.
//                  This is the split reduction: parallelism without float atomics.
// Dispatch: one workgroup per tile of the GEMM output, <ENTRY>_TILE_COLS × _ROWS (64×32; columns ×
// rows; declared once as conv2dTiles in engine/ops/conv2d.ts, which the backend prepends to this file
// as constants); @workgroup_size = tile / (8×4); x = column tiles (folded into z above 65535 for fwd and
// bwd_x), y = row tiles. Blocks of 4×8 were measured faster than 4×4 on SwiftShader (forward and input
// gradient +10–20%, weight gradient +33–65%); 8×8 slower (register spills). The forward loops over the
// taps outside the channels, so masks and offsets are computed once per tap (+30–50%).
// Bounds: rows/columns past the edge are clamped onto the last valid one while computing and never
// stored; padding and out-of-range taps read as 0 through select(), never out of bounds.
// Determinism: each output sums its terms in a fixed order (fwd: r, s, c; bwd_x: r, s, k; bwd_w: n, p, q;
// the tiled kernels: their reduction index in order); split partials
// are added in split order; no atomics. Same inputs → same bits on one adapter.
//
// GPUs get conv2d_fwd_tiled / conv2d_bwd_x_tiled instead (workgroup-memory tiles; end of this file).
//
// Bindings: 0 params | fwd (and _tiled): 1 x, 2 w, 3 y | bwd_x (and _tiled): 1 dy, 2 w, 3 dx |
// bwd_w (and _split): 1 x, 2 dy, 3 dw (split: partials).

// @kernels conv2d_fwd conv2d_bwd_x conv2d_bwd_w conv2d_fwd_tiled conv2d_bwd_x_tiled
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

const_assert CONV2D_FWD_TILE_COLS % 8u == 0u && CONV2D_FWD_TILE_ROWS % 4u == 0u;
const_assert CONV2D_BWD_X_TILE_COLS % 8u == 0u && CONV2D_BWD_X_TILE_ROWS % 4u == 0u;
const_assert CONV2D_BWD_W_TILE_COLS % 8u == 0u && CONV2D_BWD_W_TILE_ROWS % 4u == 0u;

@compute @workgroup_size(CONV2D_FWD_TILE_COLS / 8u, CONV2D_FWD_TILE_ROWS / 4u)
fn conv2d_fwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = p;
  let PQ = g.P * g.Q;
  let NPQ = g.N * PQ;
  let j0 = (wid.x + wid.z * nwg.x) * CONV2D_FWD_TILE_COLS + lid.x * 8u;
  let k0 = wid.y * CONV2D_FWD_TILE_ROWS + lid.y * 4u;
  if (j0 >= NPQ || k0 >= g.K) { return; }
  let HW = g.H * g.W;
  let ja = min(vec4u(j0) + vec4u(0u, 1u, 2u, 3u), vec4u(NPQ - 1u));
  let jb = min(vec4u(j0) + vec4u(4u, 5u, 6u, 7u), vec4u(NPQ - 1u));
  let xba = (ja / PQ) * (g.C * HW);
  let xbb = (jb / PQ) * (g.C * HW);
  let pqa = ja % PQ;
  let pqb = jb % PQ;
  let hsa = vec4i((pqa / g.Q) * g.strideH) - vec4i(i32(g.padH));
  let hsb = vec4i((pqb / g.Q) * g.strideH) - vec4i(i32(g.padH));
  let wsa = vec4i((pqa % g.Q) * g.strideW) - vec4i(i32(g.padW));
  let wsb = vec4i((pqb % g.Q) * g.strideW) - vec4i(i32(g.padW));
  let CRS = g.C * g.R * g.S;
  let kc = min(vec4u(k0) + vec4u(0u, 1u, 2u, 3u), vec4u(g.K - 1u));
  let wb = kc * CRS;
  let Hi = i32(g.H);
  let Wi = i32(g.W);
  var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);
  var b0 = vec4f(0.0); var b1 = vec4f(0.0); var b2 = vec4f(0.0); var b3 = vec4f(0.0);
  let RS = g.R * g.S;
  // Taps outermost: each pixel's validity and input offset are computed once per (r, s), and the
  // channel loop inside only steps the offsets by H·W.
  for (var r = 0u; r < g.R; r++) {
    let ha = hsa + vec4i(i32(r));
    let hb = hsb + vec4i(i32(r));
    let hoka = (ha >= vec4i(0)) & (ha < vec4i(Hi));
    let hokb = (hb >= vec4i(0)) & (hb < vec4i(Hi));
    for (var s = 0u; s < g.S; s++) {
      let wa = wsa + vec4i(i32(s));
      let wbb = wsb + vec4i(i32(s));
      let oka = hoka & (wa >= vec4i(0)) & (wa < vec4i(Wi));
      let okb = hokb & (wbb >= vec4i(0)) & (wbb < vec4i(Wi));
      var ia = select(vec4u(0u), vec4u(vec4i(xba) + ha * Wi + wa), oka);
      var ib = select(vec4u(0u), vec4u(vec4i(xbb) + hb * Wi + wbb), okb);
      let step_a = select(vec4u(0u), vec4u(HW), oka);
      let step_b = select(vec4u(0u), vec4u(HW), okb);
      var widx = r * g.S + s;
      for (var c = 0u; c < g.C; c++) {
        let xa = select(vec4f(0.0), vec4f(in0[ia.x], in0[ia.y], in0[ia.z], in0[ia.w]), oka);
        let xb = select(vec4f(0.0), vec4f(in0[ib.x], in0[ib.y], in0[ib.z], in0[ib.w]), okb);
        let w0 = in1[wb.x + widx];
        let w1 = in1[wb.y + widx];
        let w2 = in1[wb.z + widx];
        let w3 = in1[wb.w + widx];
        a0 += w0 * xa; b0 += w0 * xb;
        a1 += w1 * xa; b1 += w1 * xb;
        a2 += w2 * xa; b2 += w2 * xb;
        a3 += w3 * xa; b3 += w3 * xb;
        ia += step_a;
        ib += step_b;
        widx += RS;
      }
    }
  }
  let accs = array<vec4f, 8>(a0, a1, a2, a3, b0, b1, b2, b3);
  for (var i = 0u; i < 4u; i++) {
    let k = k0 + i;
    if (k >= g.K) { break; }
    for (var t = 0u; t < 8u; t++) {
      let jj = j0 + t;
      if (jj >= NPQ) { break; }
      out[((jj / PQ) * g.K + k) * PQ + jj % PQ] = accs[i + (t / 4u) * 4u][t % 4u];
    }
  }
}

@compute @workgroup_size(CONV2D_BWD_X_TILE_COLS / 8u, CONV2D_BWD_X_TILE_ROWS / 4u)
fn conv2d_bwd_x(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = p;
  let HW = g.H * g.W;
  let NHW = g.N * HW;
  let PQ = g.P * g.Q;
  let j0 = (wid.x + wid.z * nwg.x) * CONV2D_BWD_X_TILE_COLS + lid.x * 8u;
  let c0 = wid.y * CONV2D_BWD_X_TILE_ROWS + lid.y * 4u;
  if (j0 >= NHW || c0 >= g.C) { return; }
  let ja = min(vec4u(j0) + vec4u(0u, 1u, 2u, 3u), vec4u(NHW - 1u));
  let jb = min(vec4u(j0) + vec4u(4u, 5u, 6u, 7u), vec4u(NHW - 1u));
  let dyba = vec4i((ja / HW) * (g.K * PQ));
  let dybb = vec4i((jb / HW) * (g.K * PQ));
  let hpa = vec4i((ja % HW) / g.W + g.padH);
  let hpb = vec4i((jb % HW) / g.W + g.padH);
  let wpa = vec4i((ja % HW) % g.W + g.padW);
  let wpb = vec4i((jb % HW) % g.W + g.padW);
  let RS = g.R * g.S;
  let CRS = g.C * RS;
  let wcb = min(vec4u(c0) + vec4u(0u, 1u, 2u, 3u), vec4u(g.C - 1u)) * RS;
  let sh = vec4i(i32(g.strideH));
  let sw = vec4i(i32(g.strideW));
  let Pi = vec4i(i32(g.P));
  let Qi = vec4i(i32(g.Q));
  var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);
  var b0 = vec4f(0.0); var b1 = vec4f(0.0); var b2 = vec4f(0.0); var b3 = vec4f(0.0);
  for (var r = 0u; r < g.R; r++) {
    // Output row p with p·strideH − padH + r = h, when the stride divides and p is in range.
    let pha = hpa - vec4i(i32(r));
    let phb = hpb - vec4i(i32(r));
    let pra = pha / sh;
    let prb = phb / sh;
    let hoka = (pha >= vec4i(0)) & (pha - pra * sh == vec4i(0)) & (pra < Pi);
    let hokb = (phb >= vec4i(0)) & (phb - prb * sh == vec4i(0)) & (prb < Pi);
    // With stride > 1 most taps miss every pixel of the block (rows of the wrong parity): skip them.
    if (!any(hoka | hokb)) { continue; }
    for (var s = 0u; s < g.S; s++) {
      let qwa = wpa - vec4i(i32(s));
      let qwb = wpb - vec4i(i32(s));
      let qca = qwa / sw;
      let qcb = qwb / sw;
      let oka = hoka & (qwa >= vec4i(0)) & (qwa - qca * sw == vec4i(0)) & (qca < Qi);
      let okb = hokb & (qwb >= vec4i(0)) & (qwb - qcb * sw == vec4i(0)) & (qcb < Qi);
      if (!any(oka | okb)) { continue; }
      var ia = vec4u(select(vec4i(0), dyba + pra * Qi + qca, oka));
      var ib = vec4u(select(vec4i(0), dybb + prb * Qi + qcb, okb));
      var wk = r * g.S + s;
      for (var k = 0u; k < g.K; k++) {
        let da = gather4(ia, oka);
        let db = gather4(ib, okb);
        let w0 = in1[wk + wcb.x];
        let w1 = in1[wk + wcb.y];
        let w2 = in1[wk + wcb.z];
        let w3 = in1[wk + wcb.w];
        a0 += w0 * da; b0 += w0 * db;
        a1 += w1 * da; b1 += w1 * db;
        a2 += w2 * da; b2 += w2 * db;
        a3 += w3 * da; b3 += w3 * db;
        ia += vec4u(PQ);
        ib += vec4u(PQ);
        wk += CRS;
      }
    }
  }
  let accs = array<vec4f, 8>(a0, a1, a2, a3, b0, b1, b2, b3);
  for (var i = 0u; i < 4u; i++) {
    let c = c0 + i;
    if (c >= g.C) { break; }
    for (var t = 0u; t < 8u; t++) {
      let jj = j0 + t;
      if (jj >= NHW) { break; }
      out[((jj / HW) * g.C + c) * HW + jj % HW] = accs[i + (t / 4u) * 4u][t % 4u];
    }
  }
}

/** dw block: out channels k0..k0+3 × taps q0..q0+7 (flattened c,r,s), summed over N·P·Q values [m0, m1). */
fn bwd_w_block(g: ConvParams, k0: u32, q0: u32, m0: u32, m1: u32) -> array<vec4f, 8> {
  let RS = g.R * g.S;
  let CRS = g.C * RS;
  let PQ = g.P * g.Q;
  let HW = g.H * g.W;
  let qa = min(vec4u(q0) + vec4u(0u, 1u, 2u, 3u), vec4u(CRS - 1u));
  let qb = min(vec4u(q0) + vec4u(4u, 5u, 6u, 7u), vec4u(CRS - 1u));
  let roffa = vec4i((qa % RS) / g.S) - vec4i(i32(g.padH));
  let roffb = vec4i((qb % RS) / g.S) - vec4i(i32(g.padH));
  let soffa = vec4i(qa % g.S) - vec4i(i32(g.padW));
  let soffb = vec4i(qb % g.S) - vec4i(i32(g.padW));
  let xcba = vec4i((qa / RS) * HW);
  let xcbb = vec4i((qb / RS) * HW);
  let kk = min(vec4u(k0) + vec4u(0u, 1u, 2u, 3u), vec4u(g.K - 1u));
  let dko = kk * PQ;
  let Hi = vec4i(i32(g.H));
  let Wi = vec4i(i32(g.W));
  var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);
  var b0 = vec4f(0.0); var b1 = vec4f(0.0); var b2 = vec4f(0.0); var b3 = vec4f(0.0);
  // Walk (n, p, q) from m0 without a division per step.
  var n = m0 / PQ;
  var pp = (m0 % PQ) / g.Q;
  var qq = m0 % g.Q;
  for (var m = m0; m < m1; m++) {
    let hh = i32(pp * g.strideH);
    let ww = i32(qq * g.strideW);
    let nb = vec4i(i32(n * g.C * HW));
    let ha = vec4i(hh) + roffa;
    let hb = vec4i(hh) + roffb;
    let wa = vec4i(ww) + soffa;
    let wb = vec4i(ww) + soffb;
    let oka = (ha >= vec4i(0)) & (ha < Hi) & (wa >= vec4i(0)) & (wa < Wi);
    let okb = (hb >= vec4i(0)) & (hb < Hi) & (wb >= vec4i(0)) & (wb < Wi);
    let xa = gather4(vec4u(nb + xcba + ha * Wi + wa), oka);
    let xb = gather4(vec4u(nb + xcbb + hb * Wi + wb), okb);
    let dyb = n * g.K * PQ + pp * g.Q + qq;
    let d0 = in1[dyb + dko.x];
    let d1 = in1[dyb + dko.y];
    let d2 = in1[dyb + dko.z];
    let d3 = in1[dyb + dko.w];
    a0 += d0 * xa; b0 += d0 * xb;
    a1 += d1 * xa; b1 += d1 * xb;
    a2 += d2 * xa; b2 += d2 * xb;
    a3 += d3 * xa; b3 += d3 * xb;
    qq++;
    if (qq == g.Q) {
      qq = 0u;
      pp++;
      if (pp == g.P) { pp = 0u; n++; }
    }
  }
  return array<vec4f, 8>(a0, a1, a2, a3, b0, b1, b2, b3);
}

fn store_dw(base: u32, g: ConvParams, k0: u32, q0: u32, acc: array<vec4f, 8>) {
  let CRS = g.C * g.R * g.S;
  for (var i = 0u; i < 4u; i++) {
    let k = k0 + i;
    if (k >= g.K) { break; }
    for (var t = 0u; t < 8u; t++) {
      if (q0 + t >= CRS) { break; }
      out[base + k * CRS + q0 + t] = acc[i + (t / 4u) * 4u][t % 4u];
    }
  }
}

@compute @workgroup_size(CONV2D_BWD_W_TILE_COLS / 8u, CONV2D_BWD_W_TILE_ROWS / 4u)
fn conv2d_bwd_w(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = p;
  let q0 = wid.x * CONV2D_BWD_W_TILE_COLS + lid.x * 8u;
  let k0 = wid.y * CONV2D_BWD_W_TILE_ROWS + lid.y * 4u;
  if (q0 >= g.C * g.R * g.S || k0 >= g.K) { return; }
  store_dw(0u, g, k0, q0, bwd_w_block(g, k0, q0, 0u, g.N * g.P * g.Q));
}

@compute @workgroup_size(CONV2D_BWD_W_TILE_COLS / 8u, CONV2D_BWD_W_TILE_ROWS / 4u)
fn conv2d_bwd_w_split(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = ConvParams(psp.N, psp.C, psp.H, psp.W, psp.K, psp.R, psp.S, psp.P, psp.Q, psp.strideH, psp.strideW, psp.padH, psp.padW);
  let CRS = g.C * g.R * g.S;
  let q0 = wid.x * CONV2D_BWD_W_TILE_COLS + lid.x * 8u;
  let k0 = wid.y * CONV2D_BWD_W_TILE_ROWS + lid.y * 4u;
  if (q0 >= CRS || k0 >= g.K) { return; }
  let NPQ = g.N * g.P * g.Q;
  let m0 = min(NPQ, wid.z * psp.chunk);
  let m1 = min(NPQ, m0 + psp.chunk);
  store_dw(wid.z * g.K * CRS, g, k0, q0, bwd_w_block(g, k0, q0, m0, m1));
}

// ---- tiled (GPUs) ----------------------------------------------------------------------------------
// conv2d_fwd_tiled / conv2d_bwd_x_tiled: the same implicit GEMMs through workgroup memory, as
// matmul_fwd_tiled: @workgroup_size(16,16), a 64×64 tile of the GEMM output per workgroup, the reduction
// stepped by 16 through vec4 tiles of the weights and of the patches (im2col addressing in the loader,
// zero-filled outside the image, the padding and the GEMM), each invocation a 4×4 block. Every output
// still sums its terms in one fixed order. Dispatch: x = ⌈columns/64⌉ (folded into z), y = ⌈rows/64⌉.

// tW[kk·16 + g]: the weight column (reduction index t0 + kk) for GEMM rows 4g..4g+3 of the tile;
// tP[kk·16 + g]: the patch row t0 + kk for GEMM columns (pixels) 4g..4g+3.
var<workgroup> tW: array<vec4f, 256>;
// The staging is written for 16×16 invocations of 4×4 blocks (a 64×64 tile), as in wgsl/matmul.wgsl.
const_assert CONV2D_FWD_TILED_TILE_COLS == 64u && CONV2D_FWD_TILED_TILE_ROWS == 64u;
const_assert CONV2D_BWD_X_TILED_TILE_COLS == 64u && CONV2D_BWD_X_TILED_TILE_ROWS == 64u;
var<workgroup> tP: array<vec4f, 256>;

fn tiled_store(row0: u32, col0: u32, rows: u32, cols: u32, colPlane: u32, acc: array<vec4f, 4>) {
  // Output [n, row, plane] with col = n·colPlane + plane.
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + i;
    if (r >= rows) { break; }
    for (var t = 0u; t < 4u; t++) {
      let j = col0 + t;
      if (j >= cols) { break; }
      out[((j / colPlane) * rows + r) * colPlane + j % colPlane] = acc[i][t];
    }
  }
}

@compute @workgroup_size(16, 16)
fn conv2d_fwd_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = p;
  let tid = lid.y * 16u + lid.x;
  let PQ = g.P * g.Q;
  let NPQ = g.N * PQ;
  let RS = g.R * g.S;
  let CRS = g.C * RS;
  let HW = g.H * g.W;
  let rowT = wid.y * CONV2D_FWD_TILED_TILE_ROWS;
  let colT = (wid.x + wid.z * nwg.x) * CONV2D_FWD_TILED_TILE_COLS;
  let lk = tid / 16u;
  let lg = tid % 16u;
  // The 4 pixels this invocation stages (fixed across the reduction).
  let j = colT + lg * 4u + vec4u(0u, 1u, 2u, 3u);
  let jok = j < vec4u(NPQ);
  let jc = min(j, vec4u(NPQ - 1u));
  let xb = vec4i((jc / PQ) * (g.C * HW));
  let hs = vec4i(((jc % PQ) / g.Q) * g.strideH) - vec4i(i32(g.padH));
  let ws = vec4i(((jc % PQ) % g.Q) * g.strideW) - vec4i(i32(g.padW));
  // The 4 weight rows (output channels) it stages.
  let k = rowT + lg * 4u + vec4u(0u, 1u, 2u, 3u);
  let kok = k < vec4u(g.K);
  let kb = min(k, vec4u(g.K - 1u)) * CRS;
  var acc = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  for (var t0 = 0u; t0 < CRS; t0 += 16u) {
    let t = t0 + lk;
    let tin = t < CRS;
    let tc = min(t, CRS - 1u);
    let c = tc / RS;
    let r = i32((tc % RS) / g.S);
    let s = i32(tc % g.S);
    tW[tid] = select(vec4f(0.0), vec4f(in1[kb.x + tc], in1[kb.y + tc], in1[kb.z + tc], in1[kb.w + tc]), kok & vec4<bool>(tin));
    let h = hs + vec4i(r);
    let w = ws + vec4i(s);
    let ok = jok & vec4<bool>(tin) & (h >= vec4i(0)) & (h < vec4i(i32(g.H))) & (w >= vec4i(0)) & (w < vec4i(i32(g.W)));
    tP[tid] = gather4(vec4u(xb + vec4i(i32(c * HW)) + h * i32(g.W) + w), ok);
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let wv = tW[kk * 16u + lid.y];
      let pv = tP[kk * 16u + lid.x];
      acc[0] += wv.x * pv;
      acc[1] += wv.y * pv;
      acc[2] += wv.z * pv;
      acc[3] += wv.w * pv;
    }
    workgroupBarrier();
  }
  tiled_store(rowT + lid.y * 4u, colT + lid.x * 4u, g.K, NPQ, PQ, acc);
}

@compute @workgroup_size(16, 16)
fn conv2d_bwd_x_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = p;
  let tid = lid.y * 16u + lid.x;
  let PQ = g.P * g.Q;
  let HW = g.H * g.W;
  let NHW = g.N * HW;
  let RS = g.R * g.S;
  let CRS = g.C * RS;
  let KRS = g.K * RS;
  let rowT = wid.y * CONV2D_BWD_X_TILED_TILE_ROWS;
  let colT = (wid.x + wid.z * nwg.x) * CONV2D_BWD_X_TILED_TILE_COLS;
  let lk = tid / 16u;
  let lg = tid % 16u;
  let j = colT + lg * 4u + vec4u(0u, 1u, 2u, 3u);
  let jok = j < vec4u(NHW);
  let jc = min(j, vec4u(NHW - 1u));
  let dyb = vec4i((jc / HW) * (g.K * PQ));
  let hp = vec4i((jc % HW) / g.W + g.padH);
  let wp = vec4i((jc % HW) % g.W + g.padW);
  let sh = vec4i(i32(g.strideH));
  let sw = vec4i(i32(g.strideW));
  let c = rowT + lg * 4u + vec4u(0u, 1u, 2u, 3u);
  let cok = c < vec4u(g.C);
  let cb = min(c, vec4u(g.C - 1u)) * RS;
  var acc = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  for (var t0 = 0u; t0 < KRS; t0 += 16u) {
    // Reduction index t = (k, r, s): A(c, t) = w[k, c, r, s]; B(t, pixel) = dy[n, k, p, q] when
    // p·strideH − padH + r = h (and likewise for q), else 0.
    let t = t0 + lk;
    let tin = t < KRS;
    let tc = min(t, KRS - 1u);
    let kq = tc / RS;
    let rs = tc % RS;
    let wo = kq * CRS + rs;
    tW[tid] = select(vec4f(0.0), vec4f(in1[wo + cb.x], in1[wo + cb.y], in1[wo + cb.z], in1[wo + cb.w]), cok & vec4<bool>(tin));
    let ph = hp - vec4i(i32(rs / g.S));
    let qw = wp - vec4i(i32(rs % g.S));
    let pr = ph / sh;
    let qc = qw / sw;
    let ok = jok & vec4<bool>(tin) & (ph >= vec4i(0)) & (ph - pr * sh == vec4i(0)) & (pr < vec4i(i32(g.P)))
      & (qw >= vec4i(0)) & (qw - qc * sw == vec4i(0)) & (qc < vec4i(i32(g.Q)));
    tP[tid] = gather4(vec4u(dyb + vec4i(i32(kq * PQ)) + pr * i32(g.Q) + qc), ok);
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let wv = tW[kk * 16u + lid.y];
      let pv = tP[kk * 16u + lid.x];
      acc[0] += wv.x * pv;
      acc[1] += wv.y * pv;
      acc[2] += wv.z * pv;
      acc[3] += wv.w * pv;
    }
    workgroupBarrier();
  }
  tiled_store(rowT + lid.y * 4u, colT + lid.x * 4u, g.C, NHW, HW, acc);
}
