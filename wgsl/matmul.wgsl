// Matrix multiply (twin of assembly/matmul.ts; op in engine/ops/matmul.ts).
// C[M,N] = op(A)[M,K] · op(B)[K,N]; A stored [M,K] (transA: [K,M]), B stored [K,N] (transB: [N,K]).
// transA/transB are override constants (pipeline key), so the index arithmetic folds at compile time.
//
// Two entry points computing the same thing; the backend picks one per adapter (measured: see
// engine/ops/launch.ts):
//   matmul_fwd        barrier-free register blocking: each invocation computes a 4×4 block of C in four
//                     vec4 accumulators; a workgroup covers one tile of MATMUL_FWD_TILE_COLS ×
//                     MATMUL_FWD_TILE_ROWS (32×32; @workgroup_size = tile / 4). No workgroup
//                     memory: CPU-backed adapters (SwiftShader) run barriers very slowly.
//   matmul_fwd_tiled  GPUs: @workgroup_size(16,16), a 64×64 tile of C per workgroup, K stepped by 16
//                     through workgroup memory (vec4 tiles of A and B), each invocation a 4×4 block.
// Dispatch: x = ⌈N/tile columns⌉, folded into z when above 65535; y = ⌈M/tile rows⌉. The tiles are
// declared once, in engine/ops/matmul.ts (matmulTiles); the backend prepends them to this file as
// <ENTRY>_TILE_COLS / _ROWS constants.
// Bounds: rows/columns past M/N are clamped onto the last valid one while computing (no read out of
// bounds, no branch in the inner loop) and never stored; the tiled kernel zero-fills partial tiles.
// Determinism: each C element sums k = 0..K−1 in increasing order, on one invocation; no atomics.
//
// Bindings: 0 params, 1 a (read), 2 b (read), 3 c (read_write).

// @kernels matmul_fwd matmul_fwd_tiled
struct MatmulParams { M: u32, K: u32, N: u32, transA: u32, transB: u32 }

override transA: u32 = 0u;
override transB: u32 = 0u;

@group(0) @binding(0) var<uniform> p: MatmulParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

/** Offset of A(i, 0) and the step from A(i, k) to A(i, k+1). */
fn a_base(i: u32) -> u32 { return select(i * p.K, i, transA == 1u); }
fn a_step() -> u32 { return select(1u, p.M, transA == 1u); }
/** Offset of B(0, j) and the step from B(k, j) to B(k+1, j). */
fn b_base(j: u32) -> u32 { return select(j, j * p.K, transB == 1u); }
fn b_step() -> u32 { return select(p.N, 1u, transB == 1u); }

fn store_block(row0: u32, col0: u32, acc: array<vec4f, 4>) {
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + i;
    if (r >= p.M) { break; }
    let v = acc[i];
    let o = r * p.N + col0;
    c[o] = v.x;
    if (col0 + 1u < p.N) { c[o + 1u] = v.y; }
    if (col0 + 2u < p.N) { c[o + 2u] = v.z; }
    if (col0 + 3u < p.N) { c[o + 3u] = v.w; }
  }
}

const_assert MATMUL_FWD_TILE_COLS % 4u == 0u && MATMUL_FWD_TILE_ROWS % 4u == 0u;

@compute @workgroup_size(MATMUL_FWD_TILE_COLS / 4u, MATMUL_FWD_TILE_ROWS / 4u)
fn matmul_fwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let col0 = (wid.x + wid.z * nwg.x) * MATMUL_FWD_TILE_COLS + lid.x * 4u;
  let row0 = wid.y * MATMUL_FWD_TILE_ROWS + lid.y * 4u;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let lastR = p.M - 1u;
  let lastC = p.N - 1u;
  var ao = vec4u(a_base(min(row0, lastR)), a_base(min(row0 + 1u, lastR)), a_base(min(row0 + 2u, lastR)), a_base(min(row0 + 3u, lastR)));
  var bo = vec4u(b_base(min(col0, lastC)), b_base(min(col0 + 1u, lastC)), b_base(min(col0 + 2u, lastC)), b_base(min(col0 + 3u, lastC)));
  let as_ = a_step();
  let bs = b_step();
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k = 0u; k < p.K; k++) {
    let bv = vec4f(b[bo.x], b[bo.y], b[bo.z], b[bo.w]);
    acc0 += a[ao.x] * bv;
    acc1 += a[ao.y] * bv;
    acc2 += a[ao.z] * bv;
    acc3 += a[ao.w] * bv;
    ao += vec4u(as_);
    bo += vec4u(bs);
  }
  store_block(row0, col0, array<vec4f, 4>(acc0, acc1, acc2, acc3));
}

// ---- tiled (GPUs) ----------------------------------------------------------------------------------

const TM: u32 = MATMUL_FWD_TILED_TILE_ROWS;  // rows of C per workgroup
const TN: u32 = MATMUL_FWD_TILED_TILE_COLS;  // columns of C per workgroup
const TK: u32 = 16u;  // K step through workgroup memory
// The staging below is written for 16×16 invocations of 4×4 blocks, each staging one vec4 of A and B.
const_assert TM == 64u && TN == 64u;

// tA[kk·16 + g] holds A(rows 4g..4g+3 of the tile, k0 + kk); tB[kk·16 + g] holds B(k0 + kk, cols 4g..4g+3).
var<workgroup> tA: array<vec4f, 256>;
var<workgroup> tB: array<vec4f, 256>;

fn a_at(i: u32, k: u32) -> f32 {
  if (i >= p.M || k >= p.K) { return 0.0; }
  return a[a_base(i) + k * a_step()];
}
fn b_at(k: u32, j: u32) -> f32 {
  if (k >= p.K || j >= p.N) { return 0.0; }
  return b[b_base(j) + k * b_step()];
}

@compute @workgroup_size(16, 16)
fn matmul_fwd_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tid = lid.y * 16u + lid.x;
  let rowT = wid.y * TM;
  let colT = (wid.x + wid.z * nwg.x) * TN;
  var acc = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  // Each of the 256 invocations stages one vec4 of A and one of B per K step.
  let lk = tid / 16u;
  let lg = tid % 16u;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    let r = rowT + lg * 4u;
    tA[tid] = vec4f(a_at(r, k0 + lk), a_at(r + 1u, k0 + lk), a_at(r + 2u, k0 + lk), a_at(r + 3u, k0 + lk));
    let cc = colT + lg * 4u;
    tB[tid] = vec4f(b_at(k0 + lk, cc), b_at(k0 + lk, cc + 1u), b_at(k0 + lk, cc + 2u), b_at(k0 + lk, cc + 3u));
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let av = tA[kk * 16u + lid.y];
      let bv = tB[kk * 16u + lid.x];
      acc[0] += av.x * bv;
      acc[1] += av.y * bv;
      acc[2] += av.z * bv;
      acc[3] += av.w * bv;
    }
    workgroupBarrier();
  }
  let row0 = rowT + lid.y * 4u;
  let col0 = colT + lid.x * 4u;
  if (row0 < p.M && col0 < p.N) { store_block(row0, col0, acc); }
}
