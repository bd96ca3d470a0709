// Float64 reference for C = A·B (A [M,K], B [K,N], row-major) and its gradients. Returns Σ|terms| per
// element of C as the tolerance scale.
export function matmul(a: Float64Array, b: Float64Array, M: number, K: number, N: number): { c: Float64Array; scale: Float64Array } {
  const c = new Float64Array(M * N);
  const scale = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0, t = 0;
      for (let k = 0; k < K; k++) {
        const v = a[i * K + k] * b[k * N + j];
        s += v;
        t += Math.abs(v);
      }
      c[i * N + j] = s;
      scale[i * N + j] = t;
    }
  return { c, scale };
}
export function transpose(a: Float64Array, R: number, C: number): Float64Array {
  const t = new Float64Array(R * C);
  for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) t[j * R + i] = a[i * C + j];
  return t;
}
/** dA = dC·Bᵀ, dB = Aᵀ·dC. */
export function matmulBackward(a: Float64Array, b: Float64Array, dc: Float64Array, M: number, K: number, N: number) {
  const da = matmul(dc, transpose(b, K, N), M, N, K);
  const db = matmul(transpose(a, M, K), dc, K, M, N);
  return { da: da.c, daScale: da.scale, db: db.c, dbScale: db.scale };
}
