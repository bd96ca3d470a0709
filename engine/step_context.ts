// The step context: how ops with state or randomness behave across the passes of one optimizer step.
//
// PUGD and SAM run the loss closure twice per step, at w and at w+ε, on the same batch. An op that
// writes state (BatchNorm's running statistics) or draws random numbers (dropout's mask) asks the
// context what to do in the pass it runs in; the optimizer opens a `StepContext` around its passes
// and gives each pass a policy. Outside any pass ops see the default: update state, draw fresh.
//
//   runningStats   training-mode BatchNorm updates its running statistics in this pass (false:
//                  davda54/sam's `disable_running_stats` recipe for the perturbed pass)
//   randomness     'fresh': random ops draw new keys from their generator;
//                  'reuse': the k-th random op of this pass takes the key the k-th random op of the
//                  step's first pass drew (same op, same element count), so dropout keeps its mask
//
// Random ops draw a key (two u32 words) per call from a seeded Generator and derive everything else
// on the device from it (Philox, engine/ops/dropout.ts), so "the same mask" costs no memory: pass 2
// replays keys, not masks. A replaying pass does not touch the generator, so a step advances it as
// a single forward pass does, whatever the optimizer.
//
// The context is one engine-wide value while a pass (sync or async) runs: JavaScript has no portable
// async-local storage (Node's AsyncLocalStorage does not exist in browsers). Do not interleave two
// optimizer steps, or a step and other model work, without awaiting the step.
//
// Not handled: ops that keep state other than BatchNorm's running statistics (none exist yet).

import type { Generator } from './random.js';

/** What the ops with state or randomness do in one pass. */
export interface PassPolicy {
  /** Training-mode BatchNorm updates its running statistics. */
  readonly runningStats: boolean;
  /** 'fresh': random ops draw new keys; 'reuse': they replay, in call order, the first pass's keys. */
  readonly randomness: 'fresh' | 'reuse';
}

/** Outside any pass, and in the first pass of a step: update statistics, draw fresh randomness. */
export const DEFAULT_POLICY: PassPolicy = Object.freeze({ runningStats: true, randomness: 'fresh' });

/** A random key: two u32 words (Philox's 64-bit key). */
export type RandomKey = readonly [number, number];

interface Draw {
  op: string;
  n: number;
  key: RandomKey;
}

interface Frame {
  policy: PassPolicy;
  step: StepContext | null;
}

let current: Frame = { policy: DEFAULT_POLICY, step: null };

/** Runs `fn` with `frame` current; restores the previous frame when `fn` returns, throws or settles. */
function withFrame<T>(frame: Frame, fn: () => T): T {
  const prev = current;
  current = frame;
  let r: T;
  try {
    r = fn();
  } catch (e) {
    current = prev;
    throw e;
  }
  if (r instanceof Promise) {
    return r.finally(() => {
      current = prev;
    }) as T;
  }
  current = prev;
  return r;
}

/**
 * The passes of one optimizer step. The first `run` records the keys its random ops draw; a later
 * `run` with `randomness: 'reuse'` hands them out again in the same order.
 *
 * @example
 *   const passes = new StepContext('PUGD.step');
 *   const l1 = await passes.run(DEFAULT_POLICY, () => closure());                          // at w
 *   const l2 = await passes.run({ runningStats: false, randomness: 'reuse' }, () => closure()); // at w+ε
 */
export class StepContext {
  private readonly draws: Draw[] = [];
  private passes = 0;
  private cursor = 0;

  /** `owner` names the step in errors (`'PUGD.step'`). */
  constructor(readonly owner: string) {}

  /** Runs one pass of the step under `policy` (the first pass always draws fresh keys). */
  run<T>(policy: PassPolicy, fn: () => T): T {
    this.passes++;
    this.cursor = 0;
    return withFrame({ policy, step: this }, fn);
  }

  /** @internal The key for the next random op of the current pass (see `randomKey`). */
  key(op: string, n: number, generator: Generator, policy: PassPolicy): RandomKey {
    if (this.passes === 1) {
      const key = draw(generator);
      this.draws.push({ op, n, key });
      return key;
    }
    if (policy.randomness === 'fresh') return draw(generator);
    const k = this.cursor++;
    const first = this.draws[k];
    if (!first) {
      throw new Error(
        `${this.owner}: pass ${this.passes} called a random op (${op}, call ${k + 1}) that pass 1 did not; with randomness 'reuse' both passes must run the same random ops in the same order (or use randomness 'fresh')`,
      );
    }
    if (first.op !== op || first.n !== n) {
      throw new Error(
        `${this.owner}: random op ${k + 1} of pass ${this.passes} is ${op} over ${n} elements, but in pass 1 it was ${first.op} over ${first.n}; with randomness 'reuse' both passes must run the same random ops in the same order (or use randomness 'fresh')`,
      );
    }
    return first.key;
  }
}

function draw(generator: Generator): RandomKey {
  return [generator.nextU32(), generator.nextU32()];
}

/** The policy of the pass running now (`DEFAULT_POLICY` outside any optimizer pass). */
export function passPolicy(): PassPolicy {
  return current.policy;
}

/**
 * The key a random op over `n` elements uses now: drawn from `generator`, or, in a pass that reuses
 * randomness, the key the same call drew in the step's first pass.
 */
export function randomKey(op: string, n: number, generator: Generator): RandomKey {
  const { step, policy } = current;
  return step ? step.key(op, n, generator, policy) : draw(generator);
}

/**
 * Runs `fn` with some fields of the current policy overridden, inside whatever step pass is running
 * (so its random ops still replay). Accepts async functions: the override holds until the returned
 * promise settles.
 */
export function withPassPolicy<T>(policy: Partial<PassPolicy>, fn: () => T): T {
  return withFrame({ policy: { ...current.policy, ...policy }, step: current.step }, fn);
}

/**
 * Runs `fn` with the running-statistics update of every training-mode `batchNorm2d` suppressed
 * (normalisation still uses the batch statistics, and gradients are unchanged). Accepts async
 * functions: the switch stays on until the returned promise settles.
 *
 * @example
 *   const loss = await nn.withFrozenRunningStats(() => closure()); // BN running_mean/var untouched
 */
export function withFrozenRunningStats<T>(fn: () => T): T {
  return withPassPolicy({ runningStats: false }, fn);
}
