// Float64 reference for conv2d (cross-correlation, NCHW, OIHW), written from the definition:
//   y[n,k,p,q] = Σ_{c,r,s} x[n,c,p·sh−ph+r, q·sw−pw+s]·w[k,c,r,s]
// Backward by the chain rule on the same sum: each term x·w sends dy·w to x and dy·x to w.
// Every result comes with Σ|terms| for tolerances.
export interface G { N: number; C: number; H: number; W: number; K: number; R: number; S: number; sh: number; sw: number; ph: number; pw: number }
export function outSize(g: G): [number, number] {
  return [Math.floor((g.H + 2 * g.ph - g.R) / g.sh) + 1, Math.floor((g.W + 2 * g.pw - g.S) / g.sw) + 1];
}
function forEachTerm(g: G, f: (xi: number, wi: number, yi: number) => void): void {
  const [P, Q] = outSize(g);
  for (let n = 0; n < g.N; n++) for (let k = 0; k < g.K; k++) for (let p = 0; p < P; p++) for (let q = 0; q < Q; q++) {
    const yi = ((n * g.K + k) * P + p) * Q + q;
    for (let c = 0; c < g.C; c++) for (let r = 0; r < g.R; r++) for (let s = 0; s < g.S; s++) {
      const h = p * g.sh - g.ph + r, w = q * g.sw - g.pw + s;
      if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
      f(((n * g.C + c) * g.H + h) * g.W + w, ((k * g.C + c) * g.R + r) * g.S + s, yi);
    }
  }
}
export function conv2d(x: Float64Array, w: Float64Array, g: G) {
  const [P, Q] = outSize(g);
  const y = new Float64Array(g.N * g.K * P * Q), scale = new Float64Array(y.length);
  forEachTerm(g, (xi, wi, yi) => { const t = x[xi] * w[wi]; y[yi] += t; scale[yi] += Math.abs(t); });
  return { y, scale };
}
export function conv2dBackward(x: Float64Array, w: Float64Array, dy: Float64Array, g: G) {
  const dx = new Float64Array(x.length), dxScale = new Float64Array(x.length);
  const dw = new Float64Array(w.length), dwScale = new Float64Array(w.length);
  forEachTerm(g, (xi, wi, yi) => {
    dx[xi] += dy[yi] * w[wi]; dxScale[xi] += Math.abs(dy[yi] * w[wi]);
    dw[wi] += dy[yi] * x[xi]; dwScale[wi] += Math.abs(dy[yi] * x[xi]);
  });
  return { dx, dxScale, dw, dwScale };
}
