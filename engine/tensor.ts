// Tensor: a handle on a device buffer, with a shape, a dtype and (when it takes part in autograd) the
// graph node that produced it.
//
// Memory model (deterministic, no GC involvement):
// - A `Storage` is one device buffer with a reference count. Several handles may share it: a reshape,
//   a `detach()`, and the copies autograd keeps for backward all point at the same storage.
// - A handle is released by `dispose()` (idempotent). The buffer goes back to the backend when the
//   last handle on it is released.
// - `tidy(fn)` disposes every handle created inside `fn` except those it returns (tfjs semantics).
//   Parameters, gradients (`.grad`) and optimizer state are created outside any scope, or `keep()`t.
// - `memory()` reports live handles and live bytes for the current backend; tests assert that 100
//   training steps leave both flat.
//
// Not handled: strided views (every tensor is contiguous), dtypes other than f32 and i32.

// Layering: this file imports no op and not autograd (both sit above it and import Tensor). The
// methods that compute (`add`, `matmul`, `backward`, ...) call the functions that engine/ops/index.ts
// installs with `installTensorOps` when it loads. The autograd graph's node type and its release are
// here because a tensor and its node refer to each other.

import { getBackend, type Backend, type Buf } from './backend.js';
import { sizeOf, shapeStr, type Shape } from './shape.js';

export type DType = 'f32' | 'i32';

/** One device buffer, shared by the handles that point at it. */
export class Storage {
  refs = 1;
  /**
   * @internal For i32 data uploaded from the host (`tensor(..., { dtype: 'i32' })`, the data loader's
   * labels): the smallest and largest value and where each first occurs, so ops taking class indices
   * can check their range without reading the device. Unset for values computed on the device.
   */
  hostRange?: { min: number; minAt: number; max: number; maxAt: number };
  constructor(
    readonly backend: Backend,
    readonly buf: Buf,
    readonly dtype: DType,
    readonly length: number,
  ) {}
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs === 0) this.backend.free(this.buf);
  }
}

// ---- autograd graph nodes ---------------------------------------------------------------------

/**
 * A backward rule: given dL/d(output) and the saved tensors, return dL/d(input) for each input whose
 * `needs` entry is true (null/undefined elsewhere). The returned tensors may alias `dy` or each other.
 */
export type BackwardFn = (dy: Tensor, saved: readonly Tensor[], needs: readonly boolean[]) => readonly (Tensor | null | undefined)[];

/** @internal One input of a node: the node that produced it, or the leaf tensor itself. */
export type Edge = { node: Node; leaf?: undefined } | { leaf: Tensor; node?: undefined };

/** @internal A recorded op of the autograd graph (engine/autograd.ts records and runs them). */
export class Node {
  refs = 0;
  consumed = false;
  constructor(
    readonly op: string,
    readonly edges: readonly (Edge | null)[],
    public saved: Tensor[],
    public fn: BackwardFn | null,
  ) {}
}

/** @internal Frees a node's saved tensors and its rule (after backward, or when unreferenced). */
export function releaseSaved(node: Node): void {
  for (const t of node.saved) t.dispose();
  node.saved = [];
  node.fn = null;
}

/** @internal Drops one reference on `node`; frees it and (transitively) its inputs when unreferenced. */
export function unrefNode(node: Node): void {
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (--n.refs > 0) continue;
    releaseSaved(n);
    for (const e of n.edges) if (e?.node) stack.push(e.node);
  }
}

// ---- what the methods delegate to (installed from above) -----------------------------------------

/** The ops and the autograd entry point that Tensor's methods and autograd call. */
export interface TensorOps {
  add(a: Tensor, b: Tensor | number): Tensor;
  sub(a: Tensor, b: Tensor | number): Tensor;
  mul(a: Tensor, b: Tensor | number): Tensor;
  matmul(a: Tensor, b: Tensor): Tensor;
  sum(x: Tensor): Tensor;
  mean(x: Tensor): Tensor;
  square(x: Tensor): Tensor;
  sumSquares(x: Tensor): Tensor;
  relu(x: Tensor): Tensor;
  argmax(x: Tensor): Tensor;
  reshape(x: Tensor, shape: Shape): Tensor;
  flatten(x: Tensor, startDim?: number): Tensor;
  copyInto(dst: Tensor, src: Tensor): void;
  clone(x: Tensor): Tensor;
  full(shape: Shape, value: number): Tensor;
  backward(root: Tensor, dy?: Tensor): void;
}

let installed: TensorOps | null = null;

/** @internal Called by engine/ops/index.ts when it loads. */
export function installTensorOps(impl: TensorOps): void {
  installed = impl;
}

/** @internal The installed ops; throws if engine/ops/index.ts was never loaded. */
export function tensorOps(): TensorOps {
  if (!installed) throw new Error('Tensor: the ops are not loaded; import the package (or engine/index.js), not engine/tensor.js alone');
  return installed;
}

// ---- live-handle accounting and scopes --------------------------------------------------------

const liveHandles = new Map<Backend, number>();
const scopes: Set<Tensor>[] = [];
let nextId = 1;

function track(t: Tensor): void {
  liveHandles.set(t.backend, (liveHandles.get(t.backend) ?? 0) + 1);
  if (scopes.length > 0) scopes[scopes.length - 1].add(t);
}

/** Opens a disposal scope (see `tidy`). Pair with `endScope`. */
export function startScope(): void {
  scopes.push(new Set());
}

/** Closes the innermost scope: disposes its handles except `keepers`, which move to the parent scope. */
export function endScope(keepers: Iterable<Tensor> = []): void {
  const scope = scopes.pop();
  if (!scope) throw new Error('endScope: no scope is open');
  const kept = new Set(keepers);
  for (const t of scope) {
    if (kept.has(t)) {
      if (scopes.length > 0 && !t.disposed) scopes[scopes.length - 1].add(t);
    } else {
      t.dispose();
    }
  }
}

/** Anything `tidy` can return: tensors, arrays and plain objects of them, or other values. */
export type TensorContainer = Tensor | null | undefined | number | string | boolean | TensorContainer[] | { [k: string]: TensorContainer } | void;

function collect(x: unknown, out: Tensor[]): void {
  if (x instanceof Tensor) out.push(x);
  else if (Array.isArray(x)) for (const v of x) collect(v, out);
  else if (x && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype)
    for (const v of Object.values(x)) collect(v, out);
}

/**
 * Runs `fn` and disposes every tensor created inside it except the ones it returns (in a tensor,
 * array or plain object). `fn` must be synchronous.
 *
 * @example
 *   const loss = tidy(() => nn.functional.crossEntropy(model(x), y)); // intermediates freed
 */
export function tidy<T extends TensorContainer>(fn: () => T): T {
  startScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    endScope();
    throw e;
  }
  if (result instanceof Promise) {
    endScope();
    throw new Error('tidy: the function returned a Promise; tidy only tracks synchronous code');
  }
  const keepers: Tensor[] = [];
  collect(result, keepers);
  endScope(keepers);
  return result;
}

/** Exempts `t` from every open scope, so `tidy` will not dispose it. Returns `t`. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** Disposes every tensor in a tensor, array or plain object. */
export function dispose(x: TensorContainer): void {
  const ts: Tensor[] = [];
  collect(x, ts);
  for (const t of ts) t.dispose();
}

/** Live tensor handles and bytes on the current backend. */
export interface MemoryInfo {
  backend: string;
  /** Tensor handles not yet disposed (views and autograd's saved copies included). */
  liveTensors: number;
  /** Bytes held by live device buffers. */
  liveBytes: number;
  liveBuffers: number;
  peakBytes: number;
  dispatches: number;
  readbacks: number;
}

/** Live memory of the current backend. */
export function memory(): MemoryInfo {
  const b = getBackend();
  return {
    backend: b.name,
    liveTensors: liveHandles.get(b) ?? 0,
    liveBytes: b.counters.liveBytes,
    liveBuffers: b.counters.liveBuffers,
    peakBytes: b.counters.peakBytes,
    dispatches: b.counters.dispatches,
    readbacks: b.counters.readbacks,
  };
}

// ---- Tensor ------------------------------------------------------------------------------------

/**
 * A dense, contiguous, row-major tensor of f32 (or i32, for labels and indices) on one backend.
 * Create tensors with `tensor`, `zeros`, `ones`, `randn`; ops return new tensors.
 */
export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** @internal */ storage: Storage;
  /** @internal The graph node that produced this tensor (null for leaves and detached tensors). */
  node: Node | null = null;
  private _requiresGrad = false;
  private _grad: Tensor | null = null;
  private _disposed = false;
  /** Optional name, used in error messages and by modules (`layer1.0.conv1.weight`). */
  name?: string;

  /** @internal Use `tensor()`, `zeros()`, ... or the ops. Takes over one reference on `storage`. */
  constructor(storage: Storage, shape: Shape, dtype: DType = storage.dtype) {
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    track(this);
  }

  get backend(): Backend {
    return this.storage.backend;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  get rank(): number {
    return this.shape.length;
  }
  get disposed(): boolean {
    return this._disposed;
  }
  /** True for tensors autograd computes a gradient for (leaves) or through (outputs of ops). */
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(v: boolean) {
    if (this.node) throw new Error(`requiresGrad can only be set on leaf tensors; ${this.describe()} was produced by ${this.node.op}`);
    if (v && this.dtype !== 'f32') throw new Error(`requiresGrad: only f32 tensors can require grad (${this.describe()} is ${this.dtype})`);
    this._requiresGrad = v;
  }
  /** True when this tensor was not produced by a recorded op. */
  get isLeaf(): boolean {
    return this.node === null;
  }
  /** Accumulated gradient (leaves only), or null. Treat it as read-only: it may share storage. */
  get grad(): Tensor | null {
    return this._grad;
  }
  set grad(g: Tensor | null) {
    if (g === this._grad) return;
    if (g) {
      if (g.dtype !== 'f32' || g.shape.length !== this.shape.length || g.shape.some((d, i) => d !== this.shape[i])) {
        throw new Error(`grad: gradient ${g.describe()} does not match ${this.describe()}`);
      }
      keep(g);
    }
    this._grad?.dispose();
    this._grad = g;
  }

  /** `f32 [2,3]` plus the name when there is one; for messages. */
  describe(): string {
    return `${this.name ? `'${this.name}' ` : ''}${this.dtype} ${shapeStr(this.shape)}`;
  }

  /** @internal Throws if this handle was disposed. */
  assertLive(op: string): void {
    if (this._disposed) throw new Error(`${op}: tensor ${this.describe()} (#${this.id}) was already disposed`);
  }

  /** @internal Marks this tensor as produced by `node` (autograd). */
  setNode(node: Node): void {
    this.node = node;
    node.refs++;
    this._requiresGrad = true;
  }

  /** Releases this handle (and its gradient). Idempotent. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    liveHandles.set(this.backend, (liveHandles.get(this.backend) ?? 1) - 1);
    for (const s of scopes) s.delete(this);
    if (this._grad) {
      this._grad.dispose();
      this._grad = null;
    }
    if (this.node) {
      unrefNode(this.node);
      this.node = null;
    }
    this.storage.release();
  }

  /** A new handle on the same storage, outside autograd. */
  detach(): Tensor {
    this.assertLive('detach');
    this.storage.retain();
    return new Tensor(this.storage, this.shape, this.dtype);
  }

  /** @internal A handle on the same storage with another shape (same element count). */
  view(shape: Shape): Tensor {
    this.storage.retain();
    return new Tensor(this.storage, shape, this.dtype);
  }

  /** Copies the values from the device: the only device→host path. */
  async toArray(): Promise<Float32Array> {
    const d = await this.data();
    return d instanceof Float32Array ? d : Float32Array.from(d);
  }

  /** Copies the values from the device in their own dtype. */
  async data(): Promise<Float32Array | Int32Array> {
    this.assertLive('toArray');
    const bytes = this.size * 4;
    const ab = await this.backend.read(this.storage.buf, bytes);
    return this.dtype === 'f32' ? new Float32Array(ab, 0, this.size) : new Int32Array(ab, 0, this.size);
  }

  /**
   * The value of a one-element tensor. Asynchronous, as every read from the device (WebGPU reads are
   * asynchronous): `await loss.item()`, like TensorFlow.js's `data()`, not PyTorch's synchronous item().
   */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor ${this.describe()} has ${this.size} elements, expected 1`);
    return (await this.data())[0];
  }

  /** Reverse-mode autodiff from this tensor; accumulates into the `.grad` of leaves. */
  backward(dy?: Tensor): void {
    tensorOps().backward(this, dy);
  }

  add(x: Tensor | number): Tensor {
    return tensorOps().add(this, x);
  }
  sub(x: Tensor | number): Tensor {
    return tensorOps().sub(this, x);
  }
  mul(x: Tensor | number): Tensor {
    return tensorOps().mul(this, x);
  }
  matmul(x: Tensor): Tensor {
    return tensorOps().matmul(this, x);
  }
  sum(): Tensor {
    return tensorOps().sum(this);
  }
  mean(): Tensor {
    return tensorOps().mean(this);
  }
  square(): Tensor {
    return tensorOps().square(this);
  }
  /** Σ x², one element. */
  sumSquares(): Tensor {
    return tensorOps().sumSquares(this);
  }
  relu(): Tensor {
    return tensorOps().relu(this);
  }
  /** The index of the largest value along the last axis, i32 (see `argmax`). */
  argmax(): Tensor {
    return tensorOps().argmax(this);
  }
  reshape(shape: Shape): Tensor {
    return tensorOps().reshape(this, shape);
  }
  /** Keeps the first `startDim` dimensions and flattens the rest (default: `[N, ...] → [N, -1]`). */
  flatten(startDim = 1): Tensor {
    return tensorOps().flatten(this, startDim);
  }
  /**
   * Overwrites this tensor's values with `src`'s (same size and dtype), in place and outside autograd:
   * for optimizer updates and loading checkpoints. Returns this.
   */
  assign(src: Tensor): this {
    this.assertLive('assign');
    if (this.node) throw new Error(`assign: ${this.describe()} is not a leaf (it was produced by ${this.node.op})`);
    if (src.dtype !== this.dtype) throw new Error(`assign: dtype ${src.dtype} does not match ${this.describe()}`);
    tensorOps().copyInto(this, src);
    return this;
  }

  /** A copy with its own storage, recorded by autograd. */
  clone(): Tensor {
    return tensorOps().clone(this);
  }

  toString(): string {
    return `Tensor(${this.describe()}${this._requiresGrad ? ', requiresGrad' : ''})`;
  }
}

/** @internal Allocates an uninitialised tensor on the current backend (ops fill it). */
export function empty(shape: Shape, dtype: DType = 'f32', label = 'tensor', backend: Backend = getBackend()): Tensor {
  const n = sizeOf(shape);
  const buf = backend.alloc(n * 4, `${label} ${dtype} ${shapeStr(shape)}`);
  return new Tensor(new Storage(backend, buf, dtype, n), shape, dtype);
}
