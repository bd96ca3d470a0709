// Float64 references for the optimizers, written from the maths (SPEC §1.2–1.3 for PUGD, PyTorch's
// documented update rules for SGD/Adam/AdamW, sam.py / asam.py for SAM/ASAM). No engine imports.
//
// A model is a list of Float64Array tensors; `grad(ws)` returns ∇L at ws (same layout). Hyper-
// parameters are given per tensor (param groups expand to one entry per tensor). State objects are
// mutated in place, like the optimizers' own.

export type Tensors = Float64Array[];
export type GradFn = (ws: Tensors) => Tensors;

export interface SgdH {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

const EPS = 1e-12;

function globalNorm(xs: Tensors): number {
  let s = 0;
  for (const x of xs) for (const v of x) s += v * v;
  return Math.sqrt(s);
}

function tensorNorm(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s);
}

/** torch.optim.SGD on one tensor: d = g + λw; buf; w ← w − lr·step. Returns the new w, updates buf. */
export function sgdTensor(w: Float64Array, g: Float64Array, h: SgdH, state: { buf: Float64Array | null }): Float64Array {
  const d = w.map((wi, i) => g[i] + h.weightDecay * wi);
  let step: Float64Array = d;
  if (h.momentum !== 0) {
    if (state.buf === null) state.buf = Float64Array.from(d);
    else state.buf = state.buf.map((b, i) => h.momentum * b + (1 - h.dampening) * d[i]);
    const buf = state.buf;
    step = h.nesterov ? d.map((di, i) => di + h.momentum * buf[i]) : buf;
  }
  return w.map((wi, i) => wi - h.lr * step[i]);
}

/** One SGD step over all tensors. */
export function sgdStep(ws: Tensors, grad: GradFn, hs: SgdH[], states: { buf: Float64Array | null }[]): Tensors {
  const g = grad(ws);
  return ws.map((w, k) => sgdTensor(w, g[k], hs[k], states[k]));
}

export interface PugdOpts {
  radius: number;
  gradient: 'sum' | 'perturbed';
  normalization: 'global' | 'tensor';
}

export interface PugdTrace {
  g1: Tensors;
  e: Tensors;
  wPert: Tensors;
  g2: Tensors;
  a: number[];
  n: number[];
  wNew: Tensors;
}

/**
 * One PUGD step (SPEC §1.3 pseudocode, with the exact restore it recommends): ε = radius·|w|g1/(a+ε₀),
 * second gradient at w+ε, u = (g1+g2)/(n+ε₀), momentum SGD on u with weight decay on the restored w.
 */
export function pugdStep(ws: Tensors, grad: GradFn, hs: SgdH[], states: { buf: Float64Array | null }[], o: PugdOpts): PugdTrace {
  const K = ws.length;
  const g1 = grad(ws);
  const A = ws.map((w, k) => w.map((wi, i) => Math.abs(wi) * g1[k][i]));
  const a = o.normalization === 'global' ? new Array<number>(K).fill(globalNorm(A)) : A.map(tensorNorm);
  const e = A.map((x, k) => x.map((v) => (o.radius * v) / (a[k] + EPS)));
  const wPert = ws.map((w, k) => w.map((wi, i) => wi + e[k][i]));
  const g2 = grad(wPert);
  const S = g1.map((g, k) => (o.gradient === 'sum' ? g.map((v, i) => v + g2[k][i]) : Float64Array.from(g2[k])));
  const n = o.normalization === 'global' ? new Array<number>(K).fill(globalNorm(S)) : S.map(tensorNorm);
  const wNew = ws.map((w, k) => {
    const u = S[k].map((v) => v / (n[k] + EPS));
    return sgdTensor(w, u, hs[k], states[k]);
  });
  return { g1, e, wPert, g2, a, n, wNew };
}

/** UGD: u = g/(‖g‖ + 1e-12) (global), then momentum SGD. */
export function ugdStep(ws: Tensors, grad: GradFn, hs: SgdH[], states: { buf: Float64Array | null }[]): Tensors {
  const g = grad(ws);
  const n = globalNorm(g);
  return ws.map((w, k) => sgdTensor(w, g[k].map((v) => v / (n + EPS)), hs[k], states[k]));
}

export interface AdamH {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface AdamState {
  step: number;
  m: Float64Array;
  v: Float64Array;
}

/** torch.optim.Adam (decoupled = false) / AdamW (decoupled = true) on one tensor. */
export function adamTensor(w: Float64Array, g0: Float64Array, h: AdamH, st: AdamState, decoupled: boolean): Float64Array {
  st.step++;
  let w1 = w;
  let g = g0;
  if (decoupled) w1 = w.map((wi) => wi * (1 - h.lr * h.weightDecay));
  else if (h.weightDecay !== 0) g = g0.map((gi, i) => gi + h.weightDecay * w[i]);
  st.m = st.m.map((mi, i) => h.beta1 * mi + (1 - h.beta1) * g[i]);
  st.v = st.v.map((vi, i) => h.beta2 * vi + (1 - h.beta2) * g[i] * g[i]);
  const bc1 = 1 - h.beta1 ** st.step;
  const bc2 = 1 - h.beta2 ** st.step;
  return w1.map((wi, i) => wi - (h.lr / bc1) * (st.m[i] / (Math.sqrt(st.v[i]) / Math.sqrt(bc2) + h.eps)));
}

export function adamStep(ws: Tensors, grad: GradFn, hs: AdamH[], states: AdamState[], decoupled: boolean): Tensors {
  const g = grad(ws);
  return ws.map((w, k) => adamTensor(w, g[k], hs[k], states[k], decoupled));
}

export function adamInit(ws: Tensors): AdamState[] {
  return ws.map((w) => ({ step: 0, m: new Float64Array(w.length), v: new Float64Array(w.length) }));
}

/**
 * SAM (adaptive = false): ε = ρ·g/(‖g‖ + 1e-12). ASAM (adaptive = true): T = |w| + η,
 * ε = ρ·T²g/(‖Tg‖ + 1e-16). Then the base update with g(w+ε) at the restored w.
 */
export function samStep(
  ws: Tensors,
  grad: GradFn,
  o: { rho: number; adaptive: boolean; eta: number },
  base: (w: Float64Array, g: Float64Array, k: number) => Float64Array,
): Tensors {
  const g = grad(ws);
  const T = ws.map((w) => w.map((wi) => (o.adaptive ? Math.abs(wi) + o.eta : 1)));
  const Tg = g.map((gk, k) => gk.map((v, i) => T[k][i] * v));
  const nrm = globalNorm(Tg) + (o.adaptive ? 1e-16 : EPS);
  const wPert = ws.map((w, k) => w.map((wi, i) => wi + (o.rho * T[k][i] * T[k][i] * g[k][i]) / nrm));
  const g2 = grad(wPert);
  return ws.map((w, k) => base(w, g2[k], k));
}
