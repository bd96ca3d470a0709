// Module: PyTorch's nn.Module, reduced to what training and checkpoints need.
//
// A module owns named parameters (trainable leaves), named buffers (running statistics) and named
// child modules, registered in order; `namedParameters()` / `stateDict()` walk them recursively and
// produce PyTorch's dotted names (`layer1.0.bn1.running_mean`), so weights move to and from PyTorch.
// Parameters and buffers are created outside any `tidy` scope (they are `keep()`t) and are freed by
// `dispose()`.

import { keep, Tensor, type TensorContainer } from '../tensor.js';
import { tensor } from '../create.js';
import { shapeStr } from '../shape.js';

export abstract class Module {
  /** Training mode (batch statistics in BatchNorm) or eval mode (running statistics). */
  training = true;
  private readonly _params = new Map<string, Tensor>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _modules = new Map<string, Module>();

  /** The computation; `x` is not disposed. */
  abstract forward(x: Tensor): Tensor;

  /** Registers a trainable parameter (sets requiresGrad) under `name`. Returns it. */
  protected param(name: string, t: Tensor): Tensor {
    this.checkName(name);
    keep(t);
    if (!t.requiresGrad) t.requiresGrad = true;
    this._params.set(name, t);
    return t;
  }

  /** Registers a non-trainable state tensor (running statistics) under `name`. Returns it. */
  protected buffer(name: string, t: Tensor): Tensor {
    this.checkName(name);
    keep(t);
    this._buffers.set(name, t);
    return t;
  }

  /** Registers a child module under `name`. Returns it. */
  protected module<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    this._modules.set(name, m);
    return m;
  }

  private checkName(name: string): void {
    if (!name || name.includes('.')) throw new Error(`Module: invalid name '${name}' (non-empty, no dots)`);
    if (this._params.has(name) || this._buffers.has(name) || this._modules.has(name)) {
      throw new Error(`Module: '${name}' is already registered in ${this.constructor.name}`);
    }
  }

  /** Direct children, in registration order. */
  children(): [string, Module][] {
    return [...this._modules];
  }

  /** This module and every descendant with dotted names ('' for this one), depth first. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, m] of this._modules) out.push(...m.namedModules(`${prefix}${n}.`));
    return out;
  }

  /** All parameters with dotted names, depth first, in registration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this._params) out.push([prefix + n, t]);
    for (const [n, m] of this._modules) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this._buffers) out.push([prefix + n, t]);
    for (const [n, m] of this._modules) out.push(...m.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  /** Number of trainable scalars. */
  numParameters(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0);
  }

  /** Sets training mode on this module and every descendant. Returns this. */
  train(mode = true): this {
    this.training = mode;
    for (const [, m] of this._modules) m.train(mode);
    return this;
  }

  /** Eval mode (running statistics in BatchNorm). Returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Parameters and buffers by dotted name, in PyTorch's order (a module's own parameters, then its
   * own buffers, then each child's). The tensors are the live ones, not copies.
   */
  stateDict(prefix = ''): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [n, t] of this._params) out[prefix + n] = t;
    for (const [n, t] of this._buffers) out[prefix + n] = t;
    for (const [n, m] of this._modules) Object.assign(out, m.stateDict(`${prefix}${n}.`));
    return out;
  }

  /**
   * Copies values into the parameters and buffers by name. Accepts tensors or host arrays. With
   * `strict` (default), missing or unexpected keys and shape mismatches throw, naming the keys;
   * PyTorch's `num_batches_tracked` entries are accepted and ignored.
   */
  loadStateDict(sd: Record<string, Tensor | Float32Array | number[]>, opts: { strict?: boolean } = {}): void {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in sd));
    const unexpected = Object.keys(sd).filter((k) => !(k in own) && !k.endsWith('num_batches_tracked'));
    if (strict && (missing.length || unexpected.length)) {
      const parts: string[] = [];
      if (missing.length) parts.push(`missing keys: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? `, … (${missing.length})` : ''}`);
      if (unexpected.length) parts.push(`unexpected keys: ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? `, … (${unexpected.length})` : ''}`);
      throw new Error(`loadStateDict: ${parts.join('; ')}`);
    }
    for (const [k, dst] of Object.entries(own)) {
      const src = sd[k];
      if (src === undefined) continue;
      if (src instanceof Tensor) {
        if (src.size !== dst.size || src.rank !== dst.rank || src.shape.some((d, i) => d !== dst.shape[i])) {
          throw new Error(`loadStateDict: '${k}' has shape ${shapeStr(src.shape)} but the model expects ${shapeStr(dst.shape)}`);
        }
        dst.assign(src);
      } else {
        if (src.length !== dst.size) throw new Error(`loadStateDict: '${k}' has ${src.length} values but the model expects ${shapeStr(dst.shape)} (${dst.size})`);
        const t = tensor(src, dst.shape);
        dst.assign(t);
        t.dispose();
      }
    }
  }

  /** Frees every parameter and buffer (and their gradients). */
  dispose(): void {
    for (const t of this._params.values()) t.dispose();
    for (const t of this._buffers.values()) t.dispose();
    for (const m of this._modules.values()) m.dispose();
  }
}

/** A module made of a function; for `Sequential` and quick compositions. */
export class Lambda extends Module {
  constructor(private readonly fn: (x: Tensor) => Tensor) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

export type { TensorContainer };
