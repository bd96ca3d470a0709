// Optimizer kernels (twin of wgsl/optim.wgsl; specs and formulas in engine/ops/optim.ts, the
// algorithms in engine/optim/*.ts, PUGD step by step in docs/pugd.md).
//
// Letters: n elements of one parameter tensor; w, g, g1, g2, wsave, buf, m, v as in the specs.
// Norm partials: one f32 slot per CHUNK elements. Inside a chunk, 64-element blocks are summed in
// f32x4 lanes and each block total is added into an f64 accumulator in block order; the finish kernel
// adds the slots in index order in f64. Fixed for given sizes: same input, same bits.
// Threads (assembly/parallel.ts): the sum-of-squares kernels split their chunks, the elementwise
// updates split their elements (in 16-element, 64-byte units), the norm finish runs on share 0 alone;
// no kernel splits a reduction, so any thread count gives the same bits.
// Non-finite values are detected on the bit pattern (exponent all ones), as in the WGSL twin, where
// comparisons with NaN may be optimised away. A bad step is marked by a norm of −1 (norms are ≥ 0).

import { share, shareHi, shareLo, threadIndex } from './parallel';

const BAD_NORM: f32 = -1;

const CHUNK: i32 = 4096;

@inline function finite(x: f32): bool {
  return (reinterpret<u32>(x) & 0x7f800000) != 0x7f800000;
}

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// ---- Σ x² per chunk ---------------------------------------------------------------------------

const SQ: i32 = 0; // x = g:          term = g
const WG: i32 = 1; // x = w, y = g:   term = (|w| + eta)·g
const ADD: i32 = 2; // x = a, y = b:  term = a + b

@inline function termV(mode: i32, x: usize, y: usize, ev: v128): v128 {
  if (mode == SQ) return v128.load(x);
  if (mode == WG) return f32x4.mul(f32x4.add(f32x4.abs(v128.load(x)), ev), v128.load(y));
  return f32x4.add(v128.load(x), v128.load(y));
}

@inline function termS(mode: i32, x: usize, y: usize, eta: f32): f32 {
  if (mode == SQ) return load<f32>(x);
  if (mode == WG) return (Mathf.abs(load<f32>(x)) + eta) * load<f32>(y);
  return load<f32>(x) + load<f32>(y);
}

@inline function chunkSumSq(mode: i32, x: usize, y: usize, len: i32, eta: f32): f64 {
  const ev = f32x4.splat(eta);
  let total: f64 = 0;
  let i = 0;
  for (; i + 64 <= len; i += 64) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    for (let j = 0; j < 64; j += 16) {
      const o = <usize>(i + j) << 2;
      const v0 = termV(mode, x + o, y + o, ev);
      const v1 = termV(mode, x + o + 16, y + o + 16, ev);
      const v2 = termV(mode, x + o + 32, y + o + 32, ev);
      const v3 = termV(mode, x + o + 48, y + o + 48, ev);
      s0 = f32x4.add(s0, f32x4.mul(v0, v0));
      s1 = f32x4.add(s1, f32x4.mul(v1, v1));
      s2 = f32x4.add(s2, f32x4.mul(v2, v2));
      s3 = f32x4.add(s3, f32x4.mul(v3, v3));
    }
    const s = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
    total += <f64>(f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
  }
  let tail: f32 = 0;
  for (; i < len; i++) {
    const v = termS(mode, at(x, i), at(y, i), eta);
    tail += v * v;
  }
  return total + <f64>tail;
}

@inline function sumsqChunks(mode: i32, x: usize, y: usize, partials: usize, n: i32, slot: i32, eta: f32): void {
  const chunks = (n + CHUNK - 1) / CHUNK;
  share(chunks, 1);
  for (let c = shareLo; c < shareHi; c++) {
    const start = c * CHUNK;
    const len = min<i32>(CHUNK, n - start);
    store<f32>(at(partials, slot + c), <f32>chunkSumSq(mode, at(x, start), at(y, start), len, eta));
  }
}

/** partials[slot + c] = Σ g² over chunk c. */
export function optim_sumsq(g: usize, partials: usize, n: i32, slot: i32): void {
  sumsqChunks(SQ, g, g, partials, n, slot, 0);
}

/** partials[slot + c] = Σ ((|w| + eta)·g)² over chunk c. */
export function optim_sumsq_wg(w: usize, g: usize, partials: usize, n: i32, slot: i32, eta: f32): void {
  sumsqChunks(WG, w, g, partials, n, slot, eta);
}

/** partials[slot + c] = Σ (a + b)² over chunk c. */
export function optim_sumsq_add(a: usize, b: usize, partials: usize, n: i32, slot: i32): void {
  sumsqChunks(ADD, a, b, partials, n, slot, 0);
}

/**
 * norms[out] = sqrt(Σ partials[first … first+count)) in index order (f64); −1, with a status
 * record [firstBadStep, reason, out, lastBadStep], when loss[0] (reason 1) or the sum (reason 2) is
 * not finite.
 */
export function optim_norm_finish(partials: usize, loss: usize, norms: usize, status: usize, first: i32, count: i32, out: i32, step: i32): void {
  if (threadIndex() != 0) return;
  let s: f64 = 0;
  for (let i = 0; i < count; i++) s += <f64>load<f32>(at(partials, first + i));
  let r = <f32>Math.sqrt(s);
  let reason = 0;
  if (!finite(load<f32>(loss))) reason = 1;
  else if (!finite(r)) reason = 2;
  if (reason != 0) {
    r = BAD_NORM;
    if (load<i32>(status) < 0) {
      store<i32>(status, step);
      store<i32>(status, reason, 4);
      store<i32>(status, out, 8);
    }
    store<i32>(status, step, 12);
  }
  store<f32>(at(norms, out), r);
}

// ---- perturbation -------------------------------------------------------------------------------

@inline function perturbLoop(power: i32, g: usize, w: usize, n: i32, den: f32, radius: f32, eta: f32): void {
  const dv = f32x4.splat(den);
  const rv = f32x4.splat(radius);
  const ev = f32x4.splat(eta);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const wv = v128.load(w + o);
    let tg = v128.load(g + o);
    if (power >= 1) {
      const t = f32x4.add(f32x4.abs(wv), ev);
      tg = f32x4.mul(t, tg);
      if (power == 2) tg = f32x4.mul(t, tg);
    }
    v128.store(w + o, f32x4.add(wv, f32x4.mul(f32x4.div(tg, dv), rv)));
  }
  for (; i < n; i++) {
    const wi = load<f32>(at(w, i));
    let tg = load<f32>(at(g, i));
    if (power >= 1) {
      const t = Mathf.abs(wi) + eta;
      tg = t * tg;
      if (power == 2) tg = t * tg;
    }
    store<f32>(at(w, i), wi + (tg / den) * radius);
  }
}

/** wsave = w; w = w + radius·(T^power ⊙ g)/(norms[normIdx] + eps), T = |w| + eta; w untouched on a bad step (norm < 0). */
export function optim_perturb(g: usize, norms: usize, w: usize, wsave: usize, n: i32, radius: f32, eta: f32, eps: f32, normIdx: i32, power: i32): void {
  // This thread's elements [lo, hi): the pointers move to lo and n becomes the share's length.
  share(n, 16);
  const lo = shareLo;
  g = at(g, lo);
  w = at(w, lo);
  wsave = at(wsave, lo);
  n = shareHi - lo;
  // The exact copy that the update restores from (SPEC §4.2 hazard 2: no restore by subtraction).
  memory.copy(wsave, w, <usize>n << 2);
  const a = load<f32>(at(norms, normIdx));
  if (a < 0) return;
  const den: f32 = a + eps;
  if (power == 0) perturbLoop(0, g, w, n, den, radius, eta);
  else if (power == 1) perturbLoop(1, g, w, n, den, radius, eta);
  else perturbLoop(2, g, w, n, den, radius, eta);
}

// ---- momentum SGD (PUGD's fused update) ---------------------------------------------------------

/** The fused update; see engine/ops/optim.ts `optim_sgd_step` for the formula. */
export function optim_sgd_step(
  g1: usize, g2: usize, wsave: usize, norms: usize, w: usize, buf: usize,
  n: i32, lr: f32, momentum: f32, oneMinusDampening: f32, weightDecay: f32, eps: f32,
  normIdx: i32, guardIdx: i32, first: i32, sumGrads: i32, normalize: i32, restore: i32, nesterov: i32, hasMomentum: i32,
): void {
  share(n, 16);
  const lo = shareLo;
  g1 = at(g1, lo);
  g2 = at(g2, lo);
  wsave = at(wsave, lo);
  w = at(w, lo);
  buf = at(buf, lo);
  n = shareHi - lo;
  const wr = restore ? wsave : w;
  const nrm = load<f32>(at(norms, normIdx));
  if (load<f32>(at(norms, guardIdx)) < 0 || nrm < 0) {
    // A non-finite loss or norm: keep (or restore) the weights and leave the momentum alone.
    if (restore) memory.copy(w, wsave, <usize>n << 2);
    if (hasMomentum && first) memory.fill(buf, 0, <usize>n << 2);
    return;
  }
  const den: f32 = normalize ? nrm + eps : 1;
  const denV = f32x4.splat(den);
  const lrV = f32x4.splat(lr);
  const muV = f32x4.splat(momentum);
  const omdV = f32x4.splat(oneMinusDampening);
  const wdV = f32x4.splat(weightDecay);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    let s = v128.load(g2 + o);
    if (sumGrads) s = f32x4.add(v128.load(g1 + o), s);
    const u = normalize ? f32x4.div(s, denV) : s;
    const wv = v128.load(wr + o);
    const d = f32x4.add(u, f32x4.mul(wdV, wv));
    let st = d;
    if (hasMomentum) {
      const b = first ? d : f32x4.add(f32x4.mul(muV, v128.load(buf + o)), f32x4.mul(omdV, d));
      v128.store(buf + o, b);
      st = nesterov ? f32x4.add(d, f32x4.mul(muV, b)) : b;
    }
    v128.store(w + o, f32x4.sub(wv, f32x4.mul(lrV, st)));
  }
  for (; i < n; i++) {
    let s = load<f32>(at(g2, i));
    if (sumGrads) s = load<f32>(at(g1, i)) + s;
    const u: f32 = normalize ? s / den : s;
    const wv = load<f32>(at(wr, i));
    const d: f32 = u + weightDecay * wv;
    let st = d;
    if (hasMomentum) {
      const b: f32 = first ? d : momentum * load<f32>(at(buf, i)) + oneMinusDampening * d;
      store<f32>(at(buf, i), b);
      st = nesterov ? d + momentum * b : b;
    }
    store<f32>(at(w, i), wv - lr * st);
  }
}

// ---- Adam / AdamW -------------------------------------------------------------------------------

/** The Adam/AdamW update; see engine/ops/optim.ts `optim_adam_step` for the formula. */
export function optim_adam_step(
  g: usize, wsave: usize, norms: usize, w: usize, m: usize, v: usize,
  n: i32, stepSize: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, bc2Sqrt: f32,
  eps: f32, weightDecay: f32, decay: f32, guardIdx: i32, guard2Idx: i32, decoupled: i32, restore: i32,
): void {
  share(n, 16);
  const lo = shareLo;
  g = at(g, lo);
  wsave = at(wsave, lo);
  w = at(w, lo);
  m = at(m, lo);
  v = at(v, lo);
  n = shareHi - lo;
  const wr = restore ? wsave : w;
  if (load<f32>(at(norms, guardIdx)) < 0 || load<f32>(at(norms, guard2Idx)) < 0) {
    if (restore) memory.copy(w, wsave, <usize>n << 2);
    return;
  }
  const coupled = !decoupled && weightDecay != 0;
  const decayV = f32x4.splat(decay);
  const wdV = f32x4.splat(weightDecay);
  const omb1V = f32x4.splat(oneMinusBeta1);
  const b2V = f32x4.splat(beta2);
  const omb2V = f32x4.splat(oneMinusBeta2);
  const bc2V = f32x4.splat(bc2Sqrt);
  const epsV = f32x4.splat(eps);
  const stepV = f32x4.splat(stepSize);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    let wv = v128.load(wr + o);
    let gg = v128.load(g + o);
    if (decoupled) wv = f32x4.mul(wv, decayV);
    else if (coupled) gg = f32x4.add(gg, f32x4.mul(wdV, wv));
    const mo = v128.load(m + o);
    const mv = f32x4.add(mo, f32x4.mul(omb1V, f32x4.sub(gg, mo)));
    const vv = f32x4.add(f32x4.mul(b2V, v128.load(v + o)), f32x4.mul(f32x4.mul(omb2V, gg), gg));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), bc2V), epsV);
    v128.store(w + o, f32x4.sub(wv, f32x4.mul(stepV, f32x4.div(mv, denom))));
  }
  for (; i < n; i++) {
    let wv = load<f32>(at(wr, i));
    let gg = load<f32>(at(g, i));
    if (decoupled) wv = wv * decay;
    else if (coupled) gg = gg + weightDecay * wv;
    const mo = load<f32>(at(m, i));
    const mv: f32 = mo + oneMinusBeta1 * (gg - mo);
    const vv: f32 = beta2 * load<f32>(at(v, i)) + oneMinusBeta2 * gg * gg;
    store<f32>(at(m, i), mv);
    store<f32>(at(v, i), vv);
    const denom: f32 = Mathf.sqrt(vv) / bc2Sqrt + eps;
    store<f32>(at(w, i), wv - stepSize * (mv / denom));
  }
}
