// Optimizer kernels: the device half of engine/optim/ (PUGD, SAM/ASAM, UGD, SGD, Adam/AdamW).
//
// Letters: n elements of one parameter tensor; w weights, g gradients (g1 at w, g2 at w+ε), wsave the
// copy of w kept while the weights are perturbed, buf the momentum buffer, m/v Adam's moments.
// `partials` is a small f32 scratch buffer of "norm slots"; `norms` an f32 buffer of a few scalars
// (global norms, per-tensor norms in the per-tensor mode); `status` an i32 buffer [firstBadStep,
// reason, normIndex, lastBadStep] that records non-finite losses and norms for the host to read later.
//
// Global norms without readback and without float atomics (SPEC §1.1, §1.3):
//   1. one `optim_sumsq*` dispatch per tensor writes Σ x² of each CHUNK-element chunk of the tensor
//      into its own slot (tensor k owns slots [offset_k, offset_k + ⌈n_k/CHUNK⌉), see normLayout);
//   2. one `optim_norm_finish` dispatch reduces a range of slots in a fixed order and writes
//      sqrt(Σ) into norms[out], or −1 when the sum or the pass's loss is not finite (a norm is never
//      negative, so −1 marks the step as bad without producing a NaN on the device);
//   3. later kernels read the norm from `norms` on the device: the host never sees it.
// The order of every sum depends only on the tensor sizes, so the same inputs give the same bits.
//
// Not handled here: what the optimizers do with these kernels (engine/optim/*.ts), tensors of more
// than CHUNK·65535 elements in one norm dispatch (refused with an error), dtypes other than f32.

import { kernel } from '../kernel.js';
import { pass, type LaunchPlan } from './launch.js';

/** Elements summed into one norm slot (= one 256-thread WebGPU workgroup × 16 elements). */
export const CHUNK = 4096;
/** What optim_norm_finish writes for a step whose loss or norm is not finite (norms are ≥ 0). */
export const BAD_NORM = -1;
/** Largest tensor one norm dispatch accepts: one workgroup per chunk, 65535 workgroups along x. */
export const MAX_NORM_ELEMENTS = CHUNK * 65535;

/** partials[slot + c] = Σ g[i]² over chunk c of g (c = 0 … ⌈n/CHUNK⌉−1). SAM's and UGD's ‖g‖. */
export const optim_sumsq = kernel({
  name: 'optim_sumsq', family: 'optim', inputs: ['g'], outputs: ['partials'],
  params: [['n', 'u32'], ['slot', 'u32']],
});
/** partials[slot + c] = Σ ((|w[i]| + eta)·g[i])² over chunk c. PUGD's ‖|w|⊙g1‖ (eta 0), ASAM's ‖T_w g‖. */
export const optim_sumsq_wg = kernel({
  name: 'optim_sumsq_wg', family: 'optim', inputs: ['w', 'g'], outputs: ['partials'],
  params: [['n', 'u32'], ['slot', 'u32'], ['eta', 'f32']],
});
/** partials[slot + c] = Σ (a[i] + b[i])² over chunk c. PUGD's ‖g1 + g2‖. */
export const optim_sumsq_add = kernel({
  name: 'optim_sumsq_add', family: 'optim', inputs: ['a', 'b'], outputs: ['partials'],
  params: [['n', 'u32'], ['slot', 'u32']],
});
/**
 * norms[out] = sqrt(Σ_{s < count} partials[first + s]), the slots summed in a fixed order. If the sum
 * or loss[0] is not finite, norms[out] = −1 (BAD_NORM) and `status` records `step` (first and last bad step),
 * the reason (1: loss, 2: norm) and `out`. count = 0 only checks the loss (norms[out] = 0).
 */
export const optim_norm_finish = kernel({
  name: 'optim_norm_finish', family: 'optim', inputs: ['partials', 'loss'], outputs: ['norms', 'status'],
  params: [['first', 'u32'], ['count', 'u32'], ['out', 'u32'], ['step', 'u32']],
});
/**
 * The ascent step of PUGD / SAM / ASAM, in place, keeping an exact copy of w:
 *   wsave = w;  w = w + radius · (T^power ⊙ g) / (norms[normIdx] + eps),  T = |w| + eta.
 * power 1, eta 0: PUGD (SPEC §1.2 step 2); power 0: SAM; power 2: ASAM. If norms[normIdx] < 0 (a bad
 * step) the weights are left as they are (wsave is still written).
 */
export const optim_perturb = kernel({
  name: 'optim_perturb', family: 'optim', inputs: ['g', 'norms'], outputs: ['w', 'wsave'],
  params: [['n', 'u32'], ['radius', 'f32'], ['eta', 'f32'], ['eps', 'f32'], ['normIdx', 'u32'], ['power', 'u32']],
  constants: ['power'],
});
/**
 * Momentum SGD (PyTorch semantics) with the PUGD/UGD/SAM extras fused into one pass:
 *   s  = g2 + g1            (sumGrads; else s = g2)
 *   u  = s / (norms[normIdx] + eps)   (normalize; else u = s)
 *   wr = wsave              (restore; else wr = w)
 *   d  = u + weightDecay·wr
 *   buf = first ? d : momentum·buf + oneMinusDampening·d;  step = nesterov ? d + momentum·buf : buf
 *   (hasMomentum = 0: step = d, buf untouched)
 *   w  = wr − lr·step
 * Unless norms[guardIdx] and norms[normIdx] are both ≥ 0 (−1 marks a non-finite loss or norm of
 * this step), the update is skipped: w = wr, buf untouched (zeroed on the first step). Unused inputs
 * are bound to g2 (read-only aliases are allowed).
 */
export const optim_sgd_step = kernel({
  name: 'optim_sgd_step', family: 'optim', inputs: ['g1', 'g2', 'wsave', 'norms'], outputs: ['w', 'buf'],
  params: [
    ['n', 'u32'], ['lr', 'f32'], ['momentum', 'f32'], ['oneMinusDampening', 'f32'], ['weightDecay', 'f32'], ['eps', 'f32'],
    ['normIdx', 'u32'], ['guardIdx', 'u32'], ['first', 'u32'],
    ['sumGrads', 'u32'], ['normalize', 'u32'], ['restore', 'u32'], ['nesterov', 'u32'], ['hasMomentum', 'u32'],
  ],
  constants: ['sumGrads', 'normalize', 'restore', 'nesterov', 'hasMomentum'],
});
/**
 * Adam / AdamW (PyTorch semantics, bias corrections computed on the host in float64):
 *   wr = restore ? wsave : w
 *   decoupled (AdamW): wr = wr·decay, with decay = 1 − lr·λ;  else (Adam): gg = g + weightDecay·wr
 *   m = m + oneMinusBeta1·(gg − m);  v = beta2·v + oneMinusBeta2·gg²
 *   w = wr − stepSize · m / (sqrt(v)/bc2Sqrt + eps),  stepSize = lr/(1 − β1^t), bc2Sqrt = sqrt(1 − β2^t)
 * Unless norms[guardIdx] and norms[guard2Idx] are both ≥ 0: w = wr, m and v untouched.
 */
export const optim_adam_step = kernel({
  name: 'optim_adam_step', family: 'optim', inputs: ['g', 'wsave', 'norms'], outputs: ['w', 'm', 'v'],
  params: [
    ['n', 'u32'], ['stepSize', 'f32'], ['oneMinusBeta1', 'f32'], ['beta2', 'f32'], ['oneMinusBeta2', 'f32'], ['bc2Sqrt', 'f32'],
    ['eps', 'f32'], ['weightDecay', 'f32'], ['decay', 'f32'], ['guardIdx', 'u32'], ['guard2Idx', 'u32'],
    ['decoupled', 'u32'], ['restore', 'u32'],
  ],
  constants: ['decoupled', 'restore'],
});

export const optimKernels = [optim_sumsq, optim_sumsq_wg, optim_sumsq_add, optim_norm_finish, optim_perturb, optim_sgd_step, optim_adam_step];

/** Where each tensor's norm slots start, how many it has, and the total (the `partials` size). */
export interface NormLayout {
  offsets: number[];
  counts: number[];
  total: number;
}

/** Slot layout for tensors of `sizes` elements, in list order. */
export function normLayout(sizes: readonly number[]): NormLayout {
  const offsets: number[] = [];
  const counts: number[] = [];
  let total = 0;
  for (const n of sizes) {
    if (n > MAX_NORM_ELEMENTS) {
      throw new Error(`optim: a parameter of ${n} elements exceeds the ${MAX_NORM_ELEMENTS} elements one norm dispatch handles; split it`);
    }
    const c = Math.ceil(n / CHUNK);
    offsets.push(total);
    counts.push(c);
    total += c;
  }
  return { offsets, counts, total };
}

// ---- launch plan (engine/ops/launch.ts); the per-element kernels take the default

/** One 256-invocation workgroup per CHUNK-element norm slot (wgsl/optim.wgsl). */
const perSlot: LaunchPlan = (_ctx, k, P, inputs, outputs) => [pass(k, P, [...inputs, ...outputs], [Math.max(1, Math.ceil(P.n / CHUNK)), 1, 1])];
export const optimPlans: Record<string, LaunchPlan> = {
  optim_sumsq: perSlot,
  optim_sumsq_wg: perSlot,
  optim_sumsq_add: perSlot,
  optim_norm_finish: (_ctx, k, P, inputs, outputs) => [pass(k, P, [...inputs, ...outputs], [1, 1, 1])],
};
