// Reverse-mode automatic differentiation on a tape of nodes.
//
// Each op that has at least one input requiring grad records a Node: its backward rule, the tensors
// the rule needs (kept alive by their own handles, so the caller may dispose its copies) and one edge
// per input (the input's node, or the leaf tensor itself). `backward()` orders the reachable nodes
// topologically, runs each rule once with the summed gradient of its output, adds the results into
// the inputs' gradients, and finally frees the graph (as PyTorch does without retain_graph).
//
// Node lifetime: a node is referenced by the tensor it produced and by every downstream edge. When a
// tensor is disposed without backward, the count drops and an unreferenced node releases its saved
// tensors and its references on its inputs, so forward passes that are never differentiated do not
// leak. The Node type and that release live in engine/tensor.ts (a tensor and its node refer to each
// other). This file sits above tensor.ts and reaches the ops it needs (add, full) through
// tensorOps(), which engine/ops/index.ts installs: it imports no op.

import { Node, releaseSaved, tensorOps, startScope, endScope, keep, type Edge, type BackwardFn, type Tensor } from './tensor.js';
import { sameShape, shapeStr } from './shape.js';

export { Node, type BackwardFn };

let gradEnabled = true;

/** Whether ops currently record autograd nodes. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording autograd nodes (inference, optimizer updates). Accepts async functions;
 * recording stays off until the returned promise settles.
 *
 * @example
 *   const logits = noGrad(() => model.forward(x));
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  let r: T;
  try {
    r = fn();
  } catch (e) {
    gradEnabled = prev;
    throw e;
  }
  if (r instanceof Promise) {
    return r.finally(() => {
      gradEnabled = prev;
    }) as T;
  }
  gradEnabled = prev;
  return r;
}

/** @internal Runs `fn` with recording forced on or off. */
export function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Records `out` as produced by `op` from `inputs` (null for optional inputs that are absent), keeping
 * `saved` for the backward rule. Returns `out`. Does nothing when recording is off or no input needs
 * a gradient.
 */
export function record(
  op: string,
  out: Tensor,
  inputs: readonly (Tensor | null | undefined)[],
  saved: readonly Tensor[],
  fn: BackwardFn,
): Tensor {
  if (!gradEnabled) return out;
  let any = false;
  for (const t of inputs) if (t && t.requiresGrad) any = true;
  if (!any) return out;
  const edges = inputs.map((t): Edge | null => {
    if (!t || !t.requiresGrad) return null;
    if (t.node) {
      if (t.node.consumed) throw usedGraphError(op);
      t.node.refs++;
      return { node: t.node };
    }
    return { leaf: t };
  });
  // The saved handles are private to the node: no scope may dispose them.
  const kept = saved.map((t) => keep(t.detach()));
  out.setNode(new Node(op, edges, kept, fn));
  return out;
}

function usedGraphError(op: string): Error {
  return new Error(
    `${op}: an input belongs to a graph that backward() has already freed; recompute it, or detach() it if no gradient should flow`,
  );
}

function accumulateLeaf(leaf: Tensor, g: Tensor, op: string): void {
  if (!sameShape(leaf.shape, g.shape)) {
    throw new Error(`backward: ${op} produced a gradient of shape ${shapeStr(g.shape)} for input ${leaf.describe()}`);
  }
  if (leaf.disposed) return;
  if (leaf.grad === null) {
    // A private handle, so the caller's later dispose of `g` cannot take the gradient away.
    leaf.grad = g.detach();
  } else {
    leaf.grad = tensorOps().add(leaf.grad, g);
  }
}

/**
 * Backpropagates from `root`. `dy` defaults to 1 for one-element outputs. Gradients accumulate into
 * the `.grad` of every leaf with `requiresGrad` that `root` depends on; the graph is freed afterwards.
 */
export function backward(root: Tensor, dy?: Tensor): void {
  root.assertLive('backward');
  if (!root.requiresGrad) {
    throw new Error(`backward: ${root.describe()} does not require grad (no input of its computation has requiresGrad: true)`);
  }
  if (dy) {
    dy.assertLive('backward');
    if (!sameShape(dy.shape, root.shape)) {
      throw new Error(`backward: gradient ${dy.describe()} does not match output ${root.describe()}`);
    }
  } else if (root.size !== 1) {
    throw new Error(`backward: output ${root.describe()} is not a scalar; pass a gradient of the same shape`);
  }

  startScope();
  try {
    const seed = dy ? dy.detach() : withGrad(false, () => tensorOps().full(root.shape, 1));
    if (!root.node) {
      gradEnabledScoped(() => accumulateLeaf(root, seed, 'backward'));
      return;
    }
    if (root.node.consumed) throw usedGraphError('backward');

    // Post-order DFS (iterative: ResNet-110 graphs are deep).
    const order: Node[] = [];
    const visited = new Set<Node>([root.node]);
    const stack: [Node, number][] = [[root.node, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [n, i] = top;
      if (i < n.edges.length) {
        top[1]++;
        const e = n.edges[i];
        if (e?.node && !visited.has(e.node)) {
          if (e.node.consumed) throw usedGraphError(n.op);
          visited.add(e.node);
          stack.push([e.node, 0]);
        }
      } else {
        stack.pop();
        order.push(n);
      }
    }

    const grads = new Map<Node, Tensor>([[root.node, seed]]);
    gradEnabledScoped(() => {
      for (let k = order.length - 1; k >= 0; k--) {
        const n = order[k];
        const g = grads.get(n);
        grads.delete(n);
        if (!g || !n.fn) {
          releaseSaved(n);
          n.consumed = true;
          continue;
        }
        const needs = n.edges.map((e) => e !== null);
        const dxs = n.fn(g, n.saved, needs);
        releaseSaved(n); // free saved activations as early as possible
        n.consumed = true;
        for (let i = 0; i < n.edges.length; i++) {
          const e = n.edges[i];
          const dx = dxs[i];
          if (!e || !dx) continue;
          if (e.node) {
            // Rules may return `g` itself or one tensor for two inputs: keep private handles.
            const prev = grads.get(e.node);
            if (prev) {
              grads.set(e.node, tensorOps().add(prev, dx));
              prev.dispose();
            } else {
              grads.set(e.node, dx.detach());
            }
          } else {
            accumulateLeaf(e.leaf, dx, n.op);
          }
        }
        for (const dx of dxs) dx?.dispose();
        g.dispose();
      }
    });
  } finally {
    endScope();
  }
}

/** Runs `fn` with recording off: gradients of gradients are not supported. */
function gradEnabledScoped(fn: () => void): void {
  withGrad(false, fn);
}
