// Float64 reference for softmax cross-entropy with label smoothing (PyTorch's definition):
//   t = (1−ε)·onehot + ε/C,  ℓ_n = −Σ_j t_j·log softmax(z_n)_j,  loss = mean_n ℓ_n (or sum)
//   dz = scale·(softmax(z) − t)
export function softmaxCE(z: Float64Array, labels: number[], N: number, C: number, eps = 0, reduction: 'mean' | 'sum' = 'mean') {
  const scale = reduction === 'mean' ? 1 / N : 1;
  let loss = 0;
  const dz = new Float64Array(z.length);
  for (let n = 0; n < N; n++) {
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, z[n * C + j]);
    let se = 0;
    for (let j = 0; j < C; j++) se += Math.exp(z[n * C + j] - m);
    const lse = m + Math.log(se);
    for (let j = 0; j < C; j++) {
      const t = (j === labels[n] ? 1 - eps : 0) + eps / C;
      loss -= scale * t * (z[n * C + j] - lse);
      dz[n * C + j] = scale * (Math.exp(z[n * C + j] - lse) - t);
    }
  }
  return { loss, dz };
}
