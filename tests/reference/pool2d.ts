// Float64 references for max / average / global average pooling (PyTorch semantics: padding is −∞ for
// max and counts as zeros in the average's divisor kH·kW).
export interface PG { N: number; C: number; H: number; W: number; kH: number; kW: number; sh: number; sw: number; ph: number; pw: number }
export function outSize(g: PG): [number, number] {
  return [Math.floor((g.H + 2 * g.ph - g.kH) / g.sh) + 1, Math.floor((g.W + 2 * g.pw - g.kW) / g.sw) + 1];
}
function windows(g: PG, f: (plane: number, yi: number, cells: number[]) => void) {
  const [P, Q] = outSize(g);
  for (let pl = 0; pl < g.N * g.C; pl++) for (let p = 0; p < P; p++) for (let q = 0; q < Q; q++) {
    const cells: number[] = [];
    for (let r = 0; r < g.kH; r++) for (let s = 0; s < g.kW; s++) {
      const h = p * g.sh - g.ph + r, w = q * g.sw - g.pw + s;
      if (h >= 0 && h < g.H && w >= 0 && w < g.W) cells.push(pl * g.H * g.W + h * g.W + w);
    }
    f(pl, (pl * P + p) * Q + q, cells);
  }
}
export function maxPool(x: Float64Array, g: PG) {
  const [P, Q] = outSize(g);
  const y = new Float64Array(g.N * g.C * P * Q), arg = new Int32Array(y.length);
  windows(g, (_pl, yi, cells) => {
    let best = -Infinity, bi = -1;
    for (const c of cells) if (bi < 0 || x[c] > best) { best = x[c]; bi = c; }
    y[yi] = best; arg[yi] = bi;
  });
  return { y, arg };
}
export function maxPoolBackward(x: Float64Array, dy: Float64Array, g: PG) {
  const { arg } = maxPool(x, g);
  const dx = new Float64Array(x.length);
  for (let i = 0; i < dy.length; i++) dx[arg[i]] += dy[i];
  return dx;
}
export function avgPool(x: Float64Array, g: PG) {
  const [P, Q] = outSize(g);
  const y = new Float64Array(g.N * g.C * P * Q);
  windows(g, (_pl, yi, cells) => { let s = 0; for (const c of cells) s += x[c]; y[yi] = s / (g.kH * g.kW); });
  return y;
}
export function avgPoolBackward(xLen: number, dy: Float64Array, g: PG) {
  const dx = new Float64Array(xLen);
  windows(g, (_pl, yi, cells) => { for (const c of cells) dx[c] += dy[yi] / (g.kH * g.kW); });
  return dx;
}
export function globalAvgPool(x: Float64Array, NC: number, HW: number) {
  const y = new Float64Array(NC);
  for (let i = 0; i < NC; i++) { let s = 0; for (let j = 0; j < HW; j++) s += x[i * HW + j]; y[i] = s / HW; }
  return y;
}
