// The losses of SPEC §5 (and a few for the other optimizers), each written twice: with the engine's
// public tensor API (what the optimizers see through a closure) and in float64 with its gradient
// written by hand (what tests/reference/optim.ts sees). Also: loading ../shared/pugd/vectors.json.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nn, tensor, type Tensor } from '../../engine/index.js';
import type { Tensors } from '../reference/optim.js';

export interface Problem {
  /** Engine shapes of the tensors (their sizes match the vectors' flat lists). */
  shapes: number[][];
  /** The loss with the public API; constants are created per call (the step's scope frees them). */
  loss(ws: Tensor[]): Tensor;
  /** ∇L in float64, by hand. */
  grad(ws: Tensors): Tensors;
  /** L in float64. */
  value(ws: Tensors): number;
}

const A = [3, 1, 1, 2];

/** TV1/TV2: L = ½ wᵀAw, A = [[3,1],[1,2]], as 0.5·sum((w @ A) ⊙ w) with w [1,2]. */
export const quadratic: Problem = {
  shapes: [[1, 2]],
  loss: ([w]) => w.matmul(tensor(A, [2, 2])).mul(w).sum().mul(0.5),
  grad: ([w]) => [Float64Array.of(3 * w[0] + w[1], w[0] + 2 * w[1])],
  value: ([w]) => 0.5 * (3 * w[0] * w[0] + 2 * w[0] * w[1] + 2 * w[1] * w[1]),
};

/** TV2 split into two one-element tensors [w1], [w2]: the same function (SPEC §5 property tests). */
export const quadraticSplit: Problem = {
  shapes: [[1], [1]],
  loss: ([a, b]) => a.square().mul(1.5).add(a.mul(b)).add(b.square()).sum(),
  grad: ([a, b]) => [Float64Array.of(3 * a[0] + b[0]), Float64Array.of(a[0] + 2 * b[0])],
  value: ([a, b]) => 1.5 * a[0] * a[0] + a[0] * b[0] + b[0] * b[0],
};

/** TV3: L = ½(3w1² + w2²) + w1·c1 + (c1 − 1)², tensors w [1,2] and c [1]. */
export const twoTensors: Problem = {
  shapes: [[1, 2], [1]],
  loss: ([w, c]) => {
    const q = w.matmul(tensor([3, 0, 0, 1], [2, 2])).mul(w).sum().mul(0.5);
    const cross = w.matmul(tensor([1, 0], [2, 1])).mul(c).sum();
    return q.add(cross).add(c.sub(1).square().sum());
  },
  grad: ([w, c]) => [Float64Array.of(3 * w[0] + c[0], w[1]), Float64Array.of(w[0] + 2 * (c[0] - 1))],
  value: ([w, c]) => 0.5 * (3 * w[0] * w[0] + w[1] * w[1]) + w[0] * c[0] + (c[0] - 1) ** 2,
};

/** ½‖w − target‖² over a [2] tensor (TV4a: target (1, 0); TV4b: target (1, −2)). */
export function shifted(target: [number, number]): Problem {
  return {
    shapes: [[2]],
    loss: ([w]) => w.sub(tensor(target, [2])).square().sum().mul(0.5),
    grad: ([w]) => [Float64Array.of(w[0] - target[0], w[1] - target[1])],
    value: ([w]) => 0.5 * ((w[0] - target[0]) ** 2 + (w[1] - target[1]) ** 2),
  };
}

/** TV5: L = 3e-13·w1 + 4e-13·w2 (constant gradient). */
export const tinyLinear: Problem = {
  shapes: [[2]],
  loss: ([w]) => w.mul(tensor([3e-13, 4e-13], [2])).sum(),
  grad: () => [Float64Array.of(3e-13, 4e-13)],
  value: ([w]) => 3e-13 * w[0] + 4e-13 * w[1],
};

/**
 * TV6: L = ½ Σ_i log(1 + exp(−y_i(w·x_i + b))), x1 = (1, 2), y1 = +1; x2 = (−1, 0.5), y2 = −1; w [2,1], b [1].
 * Engine form: the per-example term is softmax cross-entropy with logits [0, −y·z] and label 0,
 * which equals log(1 + exp(−y·z)); the mean over the two examples gives the ½.
 */
export const logistic: Problem = {
  shapes: [[2, 1], [1]],
  loss: ([w, b]) => {
    const z = tensor([1, 2, -1, 0.5], [2, 2]).matmul(w).add(b); // [2,1]
    const t = z.mul(tensor([-1, 1], [2, 1])); // −y_i·z_i
    const logits = t.matmul(tensor([0, 1], [1, 2])); // [2,2] rows [0, −y·z]
    return nn.functional.crossEntropy(logits, [0, 0]);
  },
  grad: ([w, b]) => {
    const X = [[1, 2], [-1, 0.5]];
    const Y = [1, -1];
    const gw = new Float64Array(2);
    const gb = new Float64Array(1);
    for (let i = 0; i < 2; i++) {
      const z = w[0] * X[i][0] + w[1] * X[i][1] + b[0];
      const dz = (-Y[i] * (1 / (1 + Math.exp(Y[i] * z)))) / 2; // −y·σ(−y z)/2
      gw[0] += dz * X[i][0];
      gw[1] += dz * X[i][1];
      gb[0] += dz;
    }
    return [gw, gb];
  },
  value: ([w, b]) => {
    const X = [[1, 2], [-1, 0.5]];
    const Y = [1, -1];
    let s = 0;
    for (let i = 0; i < 2; i++) s += Math.log(1 + Math.exp(-Y[i] * (w[0] * X[i][0] + w[1] * X[i][1] + b[0])));
    return s / 2;
  },
};

/**
 * Diagonal quadratic over several tensors of any sizes: L = Σ_k Σ_i ½·a_ki·w_ki² + b_ki·w_ki, so
 * ∇L = a ⊙ w + b. `a` and `b` are f32-exact (drawn as f32 by the caller).
 */
export function diagonal(shapes: number[][], a: Float32Array[], b: Float32Array[]): Problem {
  return {
    shapes,
    loss: (ws) => {
      let total: Tensor | null = null;
      ws.forEach((w, k) => {
        const at = tensor(a[k], shapes[k]);
        const bt = tensor(b[k], shapes[k]);
        const term = w.square().mul(at).sum().mul(0.5).add(w.mul(bt).sum());
        total = total ? total.add(term) : term;
      });
      return total!;
    },
    grad: (ws) => ws.map((w, k) => w.map((wi, i) => a[k][i] * wi + b[k][i])),
    value: (ws) => ws.reduce((s, w, k) => s + w.reduce((t, wi, i) => t + 0.5 * a[k][i] * wi * wi + b[k][i] * wi, 0), 0),
  };
}

// ---- the golden vectors ---------------------------------------------------------------------------

export interface VectorStep {
  g1: number[][];
  abs_w_g1: number[][];
  abs_norm: number;
  e: number[][];
  w_pert: number[][];
  g2: number[][];
  g_sum: number[][];
  sum_norm: number;
  u: number[][];
  d: number[][];
  buf: (number[] | null)[];
  w_new: number[][];
  w_new_f32: number[][];
  loss_after: number;
}

export interface Vector {
  hyper: { lr: number; momentum?: number; weight_decay?: number };
  w0: number[][];
  loss0: number;
  steps: VectorStep[];
}

/** ../shared/pugd/vectors.json beside the checkout (CI has it); a missing file fails loudly. */
export function loadVectors(): Record<string, unknown> {
  const path = fileURLToPath(new URL('../../../shared/pugd/vectors.json', import.meta.url));
  if (!existsSync(path)) {
    throw new Error(`PUGD golden vectors not found at ${path}: the reference folder ../shared must sit beside the checkout (see README)`);
  }
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** Problem of each golden vector, by its key in vectors.json. */
export const vectorProblems: Record<string, Problem> = {
  TV1_quadratic_plain: quadratic,
  TV2_quadratic_repo_defaults_3steps: quadratic,
  TV3_two_tensors_global_norm: twoTensors,
  TV4a_zero_weight_element: shifted([1, 0]),
  TV4b_all_zero_weights: shifted([1, -2]),
  TV5_epsilon_placement: tinyLinear,
  TV6_logistic_two_tensors_2steps: logistic,
};
