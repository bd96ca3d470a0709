// Matrix multiply (twin of wgsl/matmul.wgsl; op in engine/ops/matmul.ts).
// C[M,N] = op(A)·op(B): A stored [M,K] (transA: [K,M]), B stored [K,N] (transB: [N,K]).
// Reference version: row-by-row with an f32x4 inner loop over N; each C element accumulates over k in
// increasing order.

export function matmul_fwd(a: usize, b: usize, c: usize, M: i32, K: i32, N: i32, transA: i32, transB: i32): void {
  for (let i = 0; i < M; i++) {
    const crow = c + (<usize>(i * N) << 2);
    memory.fill(crow, 0, <usize>N << 2);
    for (let k = 0; k < K; k++) {
      const av: f32 = transA ? load<f32>(a + (<usize>(k * M + i) << 2)) : load<f32>(a + (<usize>(i * K + k) << 2));
      if (transB) {
        for (let j = 0; j < N; j++) {
          const p = crow + (<usize>j << 2);
          store<f32>(p, load<f32>(p) + av * load<f32>(b + (<usize>(j * K + k) << 2)));
        }
      } else {
        const brow = b + (<usize>(k * N) << 2);
        const avv = f32x4.splat(av);
        let j = 0;
        for (; j + 4 <= N; j += 4) {
          const o = <usize>j << 2;
          v128.store(crow + o, f32x4.add(v128.load(crow + o), f32x4.mul(avv, v128.load(brow + o))));
        }
        for (; j < N; j++) {
          const o = <usize>j << 2;
          store<f32>(crow + o, load<f32>(crow + o) + av * load<f32>(brow + o));
        }
      }
    }
  }
}
