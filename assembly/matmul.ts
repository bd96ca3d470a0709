// Matrix multiply (twin of wgsl/matmul.wgsl; op in engine/ops/matmul.ts).
// C[M,N] = op(A)·op(B): A stored [M,K] (transA: [K,M]), B stored [K,N] (transB: [N,K]).
// All four transpose combinations run through the packed GEMM of ./gemm (transposition is only a
// different packing gather). Threads split C into row bands or column bands (the larger side), so
// each C element is computed by one thread with the same arithmetic: bit-identical for any count.

import { A_COL, A_ROW, B_COL, B_ROW, gemm, gemmScratchBytes, MR, NR, setA, setB } from './gemm';
import { hi0, hi1, lo0, lo1, scratchBase, share2, threadCount } from './parallel';

/** Scratch bytes per thread (see engine/backends/wasm.ts: `<kernel>_scratch` exports). */
export function matmul_fwd_scratch(M: i32, K: i32, N: i32, transA: i32, transB: i32): usize {
  return gemmScratchBytes(M, N, K);
}

export function matmul_fwd(a: usize, b: usize, c: usize, M: i32, K: i32, N: i32, transA: i32, transB: i32): void {
  setA(transA ? A_COL : A_ROW, a, transA ? M : K);
  setB(transB ? B_COL : B_ROW, b, transB ? K : N);
  // Split the side with more tiles; the other operand is packed by every thread (the smaller cost).
  const nt = threadCount();
  const rowTiles = (M + MR - 1) / MR;
  const colTiles = (N + NR - 1) / NR;
  share2(M >= N ? rowTiles >= nt || rowTiles >= colTiles : colTiles < nt && rowTiles > colTiles, M, MR, N, NR);
  const i0 = lo0, i1 = hi0, j0 = lo1, j1 = hi1;
  gemm(K, c, N, false, i0, i1, j0, j1, scratchBase());
}
