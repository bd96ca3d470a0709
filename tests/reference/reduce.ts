// Float64 references for sum / mean / sum of squares. `scale` is Σ|terms| (tolerance scale).
export function sum(x: Float64Array): { y: number; scale: number } {
  let s = 0, a = 0;
  for (const v of x) { s += v; a += Math.abs(v); }
  return { y: s, scale: a };
}
export function sumSquares(x: Float64Array): { y: number; scale: number } {
  let s = 0;
  for (const v of x) s += v * v;
  return { y: s, scale: s };
}
