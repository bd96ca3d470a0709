// Float64 reference for batchnorm2d, from the definition (biased batch variance to normalise,
// unbiased for the running update). Backward derived by the chain rule through μ and σ²:
//   dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂))   (training),  γ·invstd·dy (eval)
export function batchnorm(x: Float64Array, N: number, C: number, HW: number, gamma: Float64Array, beta: Float64Array,
  opts: { training: boolean; eps: number; momentum: number; runningMean: Float64Array; runningVar: Float64Array }) {
  const M = N * HW;
  const mean = new Float64Array(C), vari = new Float64Array(C);
  const rm = Float64Array.from(opts.runningMean), rv = Float64Array.from(opts.runningVar);
  for (let c = 0; c < C; c++) {
    if (opts.training) {
      let s = 0;
      for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) s += x[(n * C + c) * HW + i];
      const mu = s / M;
      let v = 0;
      for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) v += (x[(n * C + c) * HW + i] - mu) ** 2;
      mean[c] = mu; vari[c] = v / M;
      rm[c] = (1 - opts.momentum) * rm[c] + opts.momentum * mu;
      rv[c] = (1 - opts.momentum) * rv[c] + opts.momentum * (v / (M - 1));
    } else { mean[c] = opts.runningMean[c]; vari[c] = opts.runningVar[c]; }
  }
  const y = new Float64Array(x.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < HW; i++) {
    const k = (n * C + c) * HW + i;
    y[k] = gamma[c] * (x[k] - mean[c]) / Math.sqrt(vari[c] + opts.eps) + beta[c];
  }
  return { y, mean, vari, runningMean: rm, runningVar: rv };
}
export function batchnormBackward(x: Float64Array, dy: Float64Array, N: number, C: number, HW: number, gamma: Float64Array,
  mean: Float64Array, vari: Float64Array, eps: number, training: boolean) {
  const M = N * HW;
  const dx = new Float64Array(x.length), dgamma = new Float64Array(C), dbeta = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const inv = 1 / Math.sqrt(vari[c] + eps);
    let sdy = 0, sdyx = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) {
      const k = (n * C + c) * HW + i;
      sdy += dy[k]; sdyx += dy[k] * (x[k] - mean[c]) * inv;
    }
    dgamma[c] = sdyx; dbeta[c] = sdy;
    for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) {
      const k = (n * C + c) * HW + i;
      const xh = (x[k] - mean[c]) * inv;
      dx[k] = training ? gamma[c] * inv * (dy[k] - sdy / M - xh * sdyx / M) : gamma[c] * inv * dy[k];
    }
  }
  return { dx, dgamma, dbeta };
}
