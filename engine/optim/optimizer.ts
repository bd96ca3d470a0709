// The optimizer base: parameter groups keyed by tensor identity, hyper-parameter validation, the
// closure protocol (scopes, error checks), the device scratch every optimizer shares (norm partials,
// norms, status) and the state-dict format.
//
// Closure protocol (`step(closure)`): the closure zeroes the gradients, computes the loss, calls
// `backward()` and returns the loss. The step runs it inside a scope, so everything it creates is
// released by the step; the loss handle returned by `step` is the optimizer's and stays valid until
// the next `step` (take `loss.detach()` or `clone()` to keep it longer). Gradients are released at
// the end of every step that was given a closure.
//
// Non-finite values never reach the weights: the norm kernels write −1 (BAD_NORM; norms are ≥ 0) for
// a non-finite loss or norm, and every update kernel skips its update when a norm it depends on is
// negative. Every optimizer computes a gradient norm for this, the one-pass ones (SGD, Adam/AdamW)
// too, so a NaN/Inf gradient is caught also when `step()` is given no closure and updates from the
// gradients already in `.grad`. The host learns about it without a per-step readback: on wasm the status buffer is host
// memory and is read after each step; on queued backends (webgpu) a non-blocking read is started
// every QUEUED_CHECK_EVERY steps and looked at when it has landed. Either way `step` rejects with an error
// naming the step, the pass and the reason; `await opt.checkFinite()` checks at once. A skipped step
// still counts as a step (the step counter, Adam's bias correction): the host does not know it was
// skipped until the status is read.
//
// Not handled: sparse gradients, complex tensors, parameters on different backends in one optimizer.

import { Tensor, startScope, endScope, keep, empty } from '../tensor.js';
import type { Backend, Buf } from '../backend.js';
import { dispatch } from '../ops/op.js';
import { full } from '../ops/elementwise.js';
import { DEFAULT_POLICY, StepContext } from '../step_context.js';
import { normLayout, optim_norm_finish, optim_sumsq, type NormLayout } from '../ops/optim.js';

/** A loss closure: zero the gradients, compute the loss, call `backward()`, return the loss. */
export type Closure = () => Tensor | Promise<Tensor>;

/** Hyper-parameters that may differ between parameter groups (numbers, flags, Adam's betas). */
export type Hyper = Record<string, number | boolean | readonly [number, number]>;

/** One parameter group: its tensors and its hyper-parameters (read and written by LR schedulers). */
export type ParamGroup<H extends Hyper = Hyper> = H & { params: Tensor[] };

/** `Tensor[]`, or groups `{ params, ...overrides }` (a tensor may belong to one group only). */
export type ParamsInput<H extends Hyper = Hyper> = readonly Tensor[] | readonly (Partial<H> & { params: readonly Tensor[] })[];

/** What `stateDict()` returns and `loadStateDict()` takes; JSON-serialisable apart from tensors. */
export interface OptimizerStateDict {
  /** The optimizer's class (`'PUGD'`, `'SGD'`, `'SAM(SGD)'`, ...); checked on load. */
  optimizer: string;
  /** Steps taken. */
  steps: number;
  /**
   * Per-parameter state, keyed by the parameter's position in the flattened group list (groups in
   * order, tensors in order within a group), as PyTorch does. Tensors are the optimizer's live
   * buffers (read them before the next step; do not dispose them); on load, `Float32Array` or
   * `number[]` are accepted as well.
   */
  state: Record<string, Record<string, Tensor | Float32Array | number[] | number>>;
  /** Hyper-parameters per group, with the positions of its parameters. */
  paramGroups: { params: number[]; [hyper: string]: number | boolean | readonly number[] }[];
}

/** Validation rule for one hyper-parameter. */
export type Rule =
  | { type: 'number'; min: number; max?: number; minOpen?: boolean; maxOpen?: boolean }
  | { type: 'boolean' }
  /** Two numbers, each in [0, 1) (Adam's betas). */
  | { type: 'betas' };

/** 1e-12, added to every norm before dividing by it (SPEC §1.1, pugd.py 39, 54, 67). */
export const EPS = 1e-12;

/** On queued backends, how often (in steps) the status buffer is read back, without waiting. */
export const QUEUED_CHECK_EVERY = 20;

/** What the second pass of PUGD/SAM does with random ops: replay the first pass's keys, or draw anew. */
export type PassRandomness = 'reuse' | 'fresh';

/** The `randomnessOnPerturbedPass` option of PUGD and SAM: 'reuse' (default) or 'fresh'. */
export function checkRandomness(owner: string, v: unknown): PassRandomness {
  if (v === undefined) return 'reuse';
  if (v !== 'reuse' && v !== 'fresh') throw new Error(`${owner}: randomnessOnPerturbedPass must be 'reuse' or 'fresh', got ${fmt(v)}`);
  return v;
}

/** Throws `${owner}: ${key} ...` unless `v` satisfies `rule`. */
export function checkHyper(owner: string, key: string, v: unknown, rule: Rule): void {
  if (rule.type === 'boolean') {
    if (typeof v !== 'boolean') throw new Error(`${owner}: ${key} must be true or false, got ${fmt(v)}`);
    return;
  }
  if (rule.type === 'betas') {
    if (!Array.isArray(v) || v.length !== 2) throw new Error(`${owner}: ${key} must be a pair [beta1, beta2], got ${fmt(v)}`);
    v.forEach((b, i) => checkHyper(owner, `${key}[${i}]`, b, { type: 'number', min: 0, max: 1, maxOpen: true }));
    return;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${owner}: ${key} must be a finite number, got ${fmt(v)}`);
  const lowOk = rule.minOpen ? v > rule.min : v >= rule.min;
  const highOk = rule.max === undefined || (rule.maxOpen ? v < rule.max : v <= rule.max);
  if (!lowOk || !highOk) {
    const lo = `${rule.minOpen ? '(' : '['}${rule.min}`;
    const hi = rule.max === undefined ? '∞)' : `${rule.max}${rule.maxOpen ? ')' : ']'}`;
    throw new Error(`${owner}: ${key} must be in ${lo}, ${hi}, got ${v}`);
  }
}

function fmt(v: unknown): string {
  if (v instanceof Tensor) return `a Tensor (${v.describe()})`;
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return String(v); // NaN and ±Infinity as themselves (JSON would say null)
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Rejects option keys that are not in `allowed` (never accept and ignore an option). */
export function checkKeys(owner: string, opts: object, allowed: readonly string[]): void {
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) throw new Error(`${owner}: unknown option '${k}' (expected one of: ${allowed.join(', ')})`);
  }
}

/** A name for messages: the tensor's name or its position. */
export function paramLabel(p: Tensor, index: number): string {
  return p.name ? `'${p.name}' (parameter ${index})` : `parameter ${index} (${p.describe()})`;
}

interface Scratch {
  backend: Backend;
  /** f32 [2 + 2K]: [0] and [1] the global norms, [2+2k] and [3+2k] tensor k's (per-tensor modes). */
  norms: Tensor;
  /** i32 [4]: firstBadStep, reason, norm index, lastBadStep (−1: none). */
  status: Tensor;
  /** f32 [1] = 0: the "loss" of a step without closure (always finite). */
  zero: Tensor;
  /** f32 [1]: bound where a kernel needs a writable buffer it will not use (momentum 0). */
  sink: Tensor;
  partials: Tensor | null;
}

/** The momentum-free part every optimizer shares. `H` is the group hyper-parameter type. */
export abstract class Optimizer<H extends Hyper = Hyper> {
  /** Parameter groups; LR schedulers write `lr` here. Hyper-parameters may be changed between steps. */
  readonly paramGroups: ParamGroup<H>[];
  /** Per-parameter state, keyed by tensor identity. */
  protected readonly state = new Map<Tensor, Record<string, Tensor | number>>();
  /** Every parameter, groups in order (the state-dict positions). */
  protected readonly flat: Tensor[] = [];
  protected readonly groupOf = new Map<Tensor, ParamGroup<H>>();
  protected readonly indexOf = new Map<Tensor, number>();
  /** Steps taken (1-based inside a step); recorded by the status buffer. */
  protected steps = 0;
  /** Report non-finite losses/norms (see the file header). */
  protected checkFiniteEnabled = true;
  private scratchState: Scratch | null = null;
  private layoutKey = '';
  private layoutCache: NormLayout | null = null;
  private lastLoss: Tensor | null = null;
  private pendingStatus: Promise<void> | null = null;
  private landedStatus: Int32Array | null = null;
  private disposed = false;
  private running = false;
  /** The step context of the current two-pass step (PUGD, SAM). */
  private passes: StepContext | null = null;

  /**
   * @param name class name for messages and the state dict
   * @param params tensors or groups
   * @param defaults group hyper-parameters (already merged with the user's top-level options)
   * @param rules how to validate each group hyper-parameter (the keys a group may override)
   */
  protected constructor(
    readonly name: string,
    params: ParamsInput<H>,
    defaults: H,
    protected readonly rules: { [K in keyof H]: Rule },
  ) {
    const groupsIn = normaliseParams(name, params);
    this.paramGroups = groupsIn.map((gi, gidx) => {
      const { params: ps, ...over } = gi as { params: readonly Tensor[] } & Record<string, unknown>;
      checkKeys(`${name} param group ${gidx}`, over, ['params', ...Object.keys(rules)]);
      const group = { ...defaults, ...over, params: [...ps] } as ParamGroup<H>;
      this.checkGroup(group, `${name} param group ${gidx}`);
      return group;
    });
    let backend: Backend | null = null;
    for (const [gidx, g] of this.paramGroups.entries()) {
      if (g.params.length === 0) throw new Error(`${name}: param group ${gidx} has no parameters`);
      for (const p of g.params) {
        const i = this.flat.length;
        if (!(p instanceof Tensor)) throw new Error(`${name}: param group ${gidx} holds ${fmt(p)} where a Tensor was expected`);
        p.assertLive(name);
        if (this.groupOf.has(p)) {
          throw new Error(`${name}: ${paramLabel(p, i)} appears twice (in param group ${this.paramGroups.indexOf(this.groupOf.get(p)!)} and ${gidx}); a tensor may belong to one group only`);
        }
        if (p.dtype !== 'f32') throw new Error(`${name}: ${paramLabel(p, i)} is ${p.dtype}; only f32 tensors can be optimized`);
        if (!p.isLeaf) throw new Error(`${name}: ${paramLabel(p, i)} is not a leaf (it was produced by ${p.node!.op}); optimize the tensors you created`);
        if (!p.requiresGrad) throw new Error(`${name}: ${paramLabel(p, i)} does not require grad; create it with { requiresGrad: true }`);
        if (backend && p.backend !== backend) throw new Error(`${name}: parameters live on different backends (${backend.name} and ${p.backend.name})`);
        backend = p.backend;
        this.groupOf.set(p, g);
        this.indexOf.set(p, i);
        this.flat.push(p);
      }
    }
  }

  /** Validates one group's hyper-parameters; subclasses add cross-checks (nesterov needs momentum). */
  protected checkGroup(g: ParamGroup<H>, where: string): void {
    for (const [k, rule] of Object.entries(this.rules) as [string, Rule][]) checkHyper(where, k, g[k], rule);
  }

  /** Clears every parameter's gradient (`.grad = null`, as PyTorch's set_to_none). */
  zeroGrad(): void {
    for (const p of this.flat) p.grad = null;
  }

  /** One optimization step; see each optimizer. Resolves to the loss the closure returned at w. */
  abstract step(closure?: Closure): Promise<Tensor | null>;

  // ---- the closure protocol ---------------------------------------------------------------------

  /**
   * Starts a step: refuses overlapping steps, reports landed non-finite records, releases the
   * previous step's loss. Every step pairs it with `stepDone()` in a finally block.
   */
  protected beginStep(): void {
    if (this.disposed) throw new Error(`${this.name}.step: the optimizer was disposed`);
    if (this.running) throw new Error(`${this.name}.step: called while the previous step is still running; await each step before the next`);
    for (const g of this.paramGroups) this.checkGroup(g, `${this.name} param group ${this.paramGroups.indexOf(g)}`);
    this.lastLoss?.dispose();
    this.lastLoss = null;
    if (this.landedStatus && this.landedStatus[0] >= 0) {
      const s = this.landedStatus;
      this.landedStatus = null;
      this.resetStatus();
      throw this.nonFiniteError(s);
    }
    this.steps++;
    this.running = true;
  }

  /** The end of a step's device work (success or error): the next step may start. */
  protected stepDone(): void {
    this.running = false;
  }

  /** Ends a step: hands the loss to the caller (owned by the optimizer until the next step) and checks the status. */
  protected endStep(loss: Tensor | null): Tensor | null {
    this.lastLoss = loss;
    this.afterKernels();
    return loss;
  }

  /**
   * Runs the closure in a scope: everything it creates is released except the loss, of which a
   * private handle is returned. Checks that it returned a live one-element tensor and ran backward.
   */
  protected async runClosure(closure: Closure, pass: string): Promise<Tensor> {
    startScope();
    let out: unknown;
    try {
      out = await closure();
    } catch (e) {
      endScope();
      throw e;
    }
    let handle: Tensor | null = null;
    let problem: string | null = null;
    if (!(out instanceof Tensor)) problem = `returned ${fmt(out)}; it must return the loss tensor`;
    else if (out.disposed) problem = 'returned a tensor that is already disposed';
    else if (out.size !== 1) problem = `returned ${out.describe()}; the loss must have one element`;
    else if (out.node && !out.node.consumed) problem = 'did not call backward() on the loss';
    else handle = out.detach();
    endScope(handle ? [handle] : []);
    if (problem) {
      throw new Error(`${this.name}.step: the closure (${pass}) ${problem} (a closure zeroes the gradients, computes the loss, calls loss.backward() and returns the loss)`);
    }
    return handle!;
  }

  /**
   * The one-pass step of SGD, Adam/AdamW and UGD: run the closure (if any), then `update` the
   * parameters that have a gradient; release the gradients when a closure produced them.
   * `requireClosure`: the optimizer cannot step on gradients computed outside (UGD normalises them).
   */
  protected async onePassStep(closure: Closure | undefined, requireClosure: boolean, update: (active: Tensor[], loss: Tensor | null) => void): Promise<Tensor | null> {
    if (closure === undefined && requireClosure) throw new Error(`${this.name}.step: a closure is required`);
    if (closure !== undefined && typeof closure !== 'function') throw new Error(`${this.name}.step: closure must be a function, got ${typeof closure}`);
    this.beginStep();
    let loss: Tensor | null = null;
    try {
      loss = closure ? await this.runClosure(closure, 'at w') : null;
      update(closure ? this.withGrad('at w') : this.flat.filter((p) => p.grad !== null), loss);
    } catch (e) {
      loss?.dispose();
      throw e;
    } finally {
      this.stepDone();
      if (closure) this.releaseGrads();
    }
    return this.endStep(loss);
  }

  /**
   * Pass 1 of the two-pass optimizers: the closure at w, as the first pass of a new step context
   * (engine/step_context.ts), which records the keys its random ops draw.
   */
  protected runFirstPass(closure: Closure): Promise<Tensor> {
    this.passes = new StepContext(`${this.name}.step`);
    return this.passes.run(DEFAULT_POLICY, () => this.runClosure(closure, 'pass 1, at w'));
  }

  /**
   * Pass 2: the closure at w+ε in the same step context; BatchNorm updates its running stats when
   * `runningStats`, random ops replay pass 1's keys (`'reuse'`: dropout keeps its mask) or draw anew.
   */
  protected runPerturbedPass(closure: Closure, runningStats: boolean, randomness: PassRandomness): Promise<Tensor> {
    if (!this.passes) throw new Error(`${this.name}.step: internal error: pass 2 without pass 1`);
    return this.passes.run({ runningStats, randomness }, () => this.runClosure(closure, 'pass 2, at w+ε'));
  }

  /**
   * The gradients of pass 2, taken from `.grad` like g1: a parameter active at w without a gradient
   * at w+ε contributes zeros; a gradient at w+ε for a parameter that had none at w is an error (the
   * reference fails there with a KeyError, SPEC §4.2 hazard 8).
   */
  protected takePerturbedGrads(active: readonly Tensor[], g1: ReadonlyMap<Tensor, Tensor>): Map<Tensor, Tensor> {
    for (const p of this.flat) {
      if (p.grad && !g1.has(p)) {
        throw new Error(`${this.name}.step: ${paramLabel(p, this.indexOf.get(p)!)} received a gradient at w+ε but none at w; both passes must reach the same parameters`);
      }
    }
    const g2 = new Map<Tensor, Tensor>();
    for (const p of active) g2.set(p, p.grad ? this.takeGrad(p) : keep(full(p.shape, 0, { backend: p.backend })));
    return g2;
  }

  /** Parameters that received a gradient, in flat order; throws when none did (backward forgotten). */
  protected withGrad(pass: string): Tensor[] {
    const active = this.flat.filter((p) => p.grad !== null);
    if (active.length === 0) {
      throw new Error(
        `${this.name}.step: no parameter has a gradient after the closure (${pass}); call loss.backward() inside the closure, on a loss that depends on the parameters`,
      );
    }
    return active;
  }

  /** Takes the gradient of `p` (no copy): the returned handle is the optimizer's, `p.grad` becomes null. */
  protected takeGrad(p: Tensor): Tensor {
    const g = keep(p.grad!.detach());
    p.grad = null;
    return g;
  }

  /** Releases the gradient of every parameter (the end of a step that ran a closure). */
  protected releaseGrads(): void {
    for (const p of this.flat) p.grad = null;
  }

  // ---- device scratch ---------------------------------------------------------------------------

  protected scratch(): Scratch {
    if (this.scratchState) return this.scratchState;
    const backend = this.flat[0].backend;
    const mk = (n: number, dtype: 'f32' | 'i32', label: string) => keep(empty([n], dtype, `${this.name} ${label}`, backend));
    const s: Scratch = {
      backend,
      norms: mk(2 + 2 * this.flat.length, 'f32', 'norms'),
      status: mk(4, 'i32', 'status'),
      zero: mk(1, 'f32', 'zero'),
      sink: mk(1, 'f32', 'sink'),
      partials: null,
    };
    backend.upload(s.norms.storage.buf, new Float32Array(s.norms.size));
    backend.upload(s.status.storage.buf, new Int32Array([-1, -1, -1, -1]));
    backend.upload(s.zero.storage.buf, new Float32Array(1));
    this.scratchState = s;
    return s;
  }

  /** The norm-slot layout for `tensors` (cached while the set of tensors is the same). */
  protected layout(tensors: readonly Tensor[]): NormLayout {
    const key = tensors.map((t) => this.indexOf.get(t)).join(',');
    if (key !== this.layoutKey || !this.layoutCache) {
      this.layoutCache = normLayout(tensors.map((t) => t.size));
      this.layoutKey = key;
    }
    const s = this.scratch();
    const need = Math.max(1, this.layoutCache.total);
    if (!s.partials || s.partials.size < need) {
      s.partials?.dispose();
      s.partials = keep(empty([need], 'f32', `${this.name} norm partials`, s.backend));
    }
    return this.layoutCache;
  }

  /**
   * norms[out] = sqrt(Σ partials[first … first+count)), or −1 (recorded in status) when that or
   * `loss` is not finite. count 0 only checks the loss.
   */
  protected finish(loss: Tensor | null, first: number, count: number, out: number): void {
    const s = this.scratch();
    if (!s.partials) this.layout([]);
    dispatch(optim_norm_finish, { first, count, out, step: this.steps }, [s.partials!, loss ?? s.zero], [s.norms, s.status]);
  }

  /**
   * The guard of the one-pass updates (SGD, Adam/AdamW, UGD): norms[out] = ‖g‖ over the gradients of
   * `active` (one global norm), or −1 (recorded in status) when it or `loss` is not finite, so a NaN
   * or ±Inf gradient (or one whose norm overflows f32) skips the update, with or without a closure.
   */
  protected gradientGuard(active: readonly Tensor[], loss: Tensor | null, out: number): void {
    const s = this.scratch();
    const L = this.layout(active);
    active.forEach((p, k) => dispatch(optim_sumsq, { n: p.size, slot: L.offsets[k] }, [p.grad!], [s.partials!]));
    this.finish(loss, 0, L.total, out);
  }

  // ---- non-finite reports -----------------------------------------------------------------------

  /** Reads the status buffer now (one readback) and throws if a step had a non-finite loss or norm. */
  async checkFinite(): Promise<void> {
    const s = this.scratchState;
    if (!s) return;
    const st = new Int32Array(await s.backend.read(s.status.storage.buf, 16));
    if (st[0] >= 0) {
      this.resetStatus();
      this.landedStatus = null;
      throw this.nonFiniteError(st);
    }
  }

  private afterKernels(): void {
    const s = this.scratchState;
    if (!s || !this.checkFiniteEnabled) return;
    const now = peekNow(s.backend, s.status.storage.buf);
    if (now) {
      if (now[0] >= 0) {
        this.resetStatus();
        throw this.nonFiniteError(now);
      }
      return;
    }
    if (this.steps % QUEUED_CHECK_EVERY === 0 && !this.pendingStatus) {
      this.pendingStatus = s.backend.read(s.status.storage.buf, 16).then(
        (ab) => {
          this.landedStatus = new Int32Array(ab);
          this.pendingStatus = null;
        },
        () => {
          this.pendingStatus = null;
        },
      );
    }
  }

  private resetStatus(): void {
    const s = this.scratchState;
    if (s) s.backend.upload(s.status.storage.buf, new Int32Array([-1, -1, -1, -1]));
  }

  /** What norms[idx] holds, for messages: which pass's loss and which norm. */
  protected describeNorm(idx: number): { pass: string; norm: string } {
    void idx;
    return { pass: 'the closure', norm: 'the gradient norm' };
  }

  private nonFiniteError(st: Int32Array): Error {
    const [first, reason, idx, last] = st;
    const d = this.describeNorm(idx);
    const what = reason === 1 ? `the loss returned by ${d.pass} is not finite (NaN or ±Inf)` : `${d.norm} is not finite (a NaN or ±Inf gradient)`;
    const more = last > first ? ` (and again up to step ${last})` : '';
    return new Error(
      `${this.name}.step: at step ${first}${more} ${what}; that step's update was skipped, so the weights and the optimizer state are those from before it. Check the data and the model, or lower the learning rate.`,
    );
  }

  // ---- state dict ---------------------------------------------------------------------------------

  /** Names of the per-parameter state entries this optimizer keeps (tensors, then numbers). */
  protected abstract stateKeys(): { tensors: string[]; numbers: string[] };

  /** The state: per-parameter buffers (live tensors), group hyper-parameters, step count. */
  stateDict(): OptimizerStateDict {
    const state: OptimizerStateDict['state'] = {};
    for (const [p, st] of this.state) {
      const entry: Record<string, Tensor | number> = {};
      for (const [k, v] of Object.entries(st)) entry[k] = v;
      state[String(this.indexOf.get(p))] = entry;
    }
    let i = 0;
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      const idx = params.map(() => i++);
      return { ...(hyper as Hyper), params: idx } as OptimizerStateDict['paramGroups'][number];
    });
    return { optimizer: this.name, steps: this.steps, state, paramGroups };
  }

  /**
   * Restores a state from `stateDict()` (of an optimizer of the same class over parameters of the
   * same shapes, in the same groups). Values are copied into the optimizer's own buffers, so the
   * source may be disposed afterwards. Hyper-parameters (including lr) are restored too.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const owner = `${this.name}.loadStateDict`;
    if (!sd || typeof sd !== 'object') throw new Error(`${owner}: expected a state dict object, got ${fmt(sd)}`);
    if (sd.optimizer !== this.name) throw new Error(`${owner}: the state dict is from ${fmt(sd.optimizer)}, not ${this.name}`);
    if (!Array.isArray(sd.paramGroups) || sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${owner}: the state dict has ${Array.isArray(sd.paramGroups) ? sd.paramGroups.length : 'no'} param groups, this optimizer has ${this.paramGroups.length}`);
    }
    if (!Number.isInteger(sd.steps) || sd.steps < 0) throw new Error(`${owner}: steps must be an integer ≥ 0, got ${fmt(sd.steps)}`);
    const groups = sd.paramGroups.map((g, gi) => {
      const own = this.paramGroups[gi];
      if (!Array.isArray(g.params) || g.params.length !== own.params.length) {
        throw new Error(`${owner}: param group ${gi} has ${Array.isArray(g.params) ? g.params.length : 'no'} parameters in the state dict, ${own.params.length} here`);
      }
      const { params: _p, ...hyper } = g;
      void _p;
      checkKeys(`${owner} param group ${gi}`, hyper, Object.keys(this.rules));
      const merged = { ...own, ...hyper, params: own.params } as ParamGroup<H>;
      this.checkGroup(merged, `${owner} param group ${gi}`);
      return merged;
    });
    const keys = this.stateKeys();
    const incoming = new Map<Tensor, Record<string, Tensor | Float32Array | number[] | number>>();
    for (const [k, entry] of Object.entries(sd.state ?? {})) {
      const i = Number(k);
      const p = this.flat[i];
      if (!Number.isInteger(i) || !p) throw new Error(`${owner}: state key '${k}' is not a parameter position (0 … ${this.flat.length - 1})`);
      checkKeys(`${owner} state '${k}'`, entry, [...keys.tensors, ...keys.numbers]);
      for (const [name, v] of Object.entries(entry)) {
        if (keys.numbers.includes(name)) {
          if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${owner}: state '${k}'.${name} must be a finite number, got ${fmt(v)}`);
        } else {
          const n = v instanceof Tensor ? v.size : (v as ArrayLike<number>)?.length;
          if (n !== p.size) throw new Error(`${owner}: state '${k}'.${name} has ${n ?? 'no'} values; ${paramLabel(p, i)} has ${p.size}`);
        }
      }
      incoming.set(p, entry);
    }
    // Everything checked: apply.
    groups.forEach((g, gi) => Object.assign(this.paramGroups[gi], g));
    for (const st of this.state.values()) for (const v of Object.values(st)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
    for (const [p, entry] of incoming) {
      const st: Record<string, Tensor | number> = {};
      for (const [name, v] of Object.entries(entry)) {
        if (typeof v === 'number') {
          st[name] = v;
          continue;
        }
        const t = keep(empty(p.shape, 'f32', `${this.name} ${name}`, p.backend));
        if (v instanceof Tensor) {
          t.assign(v);
        } else {
          p.backend.upload(t.storage.buf, v instanceof Float32Array ? v : Float32Array.from(v as number[]));
        }
        st[name] = t;
      }
      this.state.set(p, st);
    }
    this.steps = sd.steps;
  }

  /** Frees the optimizer's device buffers (state and scratch) and the last returned loss. */
  dispose(): void {
    for (const st of this.state.values()) for (const v of Object.values(st)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
    const s = this.scratchState;
    if (s) for (const t of [s.norms, s.status, s.zero, s.sink, s.partials]) t?.dispose();
    this.scratchState = null;
    this.lastLoss?.dispose();
    this.lastLoss = null;
    this.disposed = true;
  }

  /**
   * @internal The state tensor `key` of `p`, created when absent: zero-filled with `zero`, else
   * uninitialised (the kernel that sees `created` writes every element).
   */
  stateTensor(p: Tensor, key: string, zero = false): { t: Tensor; created: boolean } {
    const st = this.stateOf(p);
    const cur = st[key];
    if (cur instanceof Tensor) return { t: cur, created: false };
    const t = keep(empty(p.shape, 'f32', `${this.name} ${key}`, p.backend));
    if (zero) p.backend.upload(t.storage.buf, new Float32Array(p.size));
    st[key] = t;
    return { t, created: true };
  }

  /** @internal The state record of `p` (created empty when absent). */
  stateOf(p: Tensor): Record<string, Tensor | number> {
    let st = this.state.get(p);
    if (!st) this.state.set(p, (st = {}));
    return st;
  }

  /** @internal The group hyper-parameters of `p`. */
  hyperOf(p: Tensor): ParamGroup<H> {
    return this.groupOf.get(p)!;
  }

  /** @internal A one-element writable buffer for kernels that must bind an output they do not use. */
  sink(): Tensor {
    return this.scratch().sink;
  }
}

function normaliseParams<H extends Hyper>(name: string, params: ParamsInput<H>): (Partial<H> & { params: readonly Tensor[] })[] {
  if (!Array.isArray(params) || params.length === 0) {
    throw new Error(`${name}: params must be a non-empty array of tensors or of groups { params: Tensor[], ... }, got ${fmt(params)}`);
  }
  if (params.every((p) => p instanceof Tensor)) return [{ params: params as readonly Tensor[] } as Partial<H> & { params: readonly Tensor[] }];
  return (params as readonly unknown[]).map((g, i) => {
    if (!g || typeof g !== 'object' || g instanceof Tensor || !Array.isArray((g as { params?: unknown }).params)) {
      throw new Error(`${name}: params[${i}] must be a group { params: Tensor[], ... } (do not mix tensors and groups), got ${fmt(g)}`);
    }
    return g as Partial<H> & { params: readonly Tensor[] };
  });
}

/**
 * The status words without a device round trip, where the backend keeps tensors in host memory and
 * runs kernels synchronously (wasm): reading them there costs nothing and waits for nothing. Null on
 * queued backends.
 */
function peekNow(backend: Backend, buf: Buf): Int32Array | null {
  const view = (backend as unknown as { view?: (b: Buf) => Uint8Array }).view;
  if (backend.name !== 'wasm' || typeof view !== 'function') return null;
  const u8 = view.call(backend, buf);
  return new Int32Array(u8.slice(0, 16).buffer);
}
