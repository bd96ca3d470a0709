// Launch plans live with their kernels (engine/ops/<family>.ts, engine/ops/launch.ts): the backends
// know no kernel by name, every plan belongs to a registry kernel, and every kernel without a plan can
// take the default (one invocation per element of its param `n`).
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { helperKernels, kernels, launchPlans } from '../../engine/ops/index.js';

const backends = new URL('../../engine/backends/', import.meta.url);
const registry = Object.values(kernels).flat();
const helpers = Object.values(helperKernels).flat();

describe('launch plans', () => {
  it('no backend names a kernel', () => {
    const names = [...registry, ...helpers].map((k) => k.name);
    expect(names.length).toBeGreaterThan(40);
    const found: string[] = [];
    for (const f of readdirSync(backends).filter((f) => f.endsWith('.ts'))) {
      const src = readFileSync(new URL(f, backends), 'utf8');
      for (const n of names) if (new RegExp(`['"\`]${n}['"\`]|\\bcase ${n}\\b`).test(src)) found.push(`engine/backends/${f}: '${n}'`);
    }
    expect(found, 'declare the launch plan in engine/ops/<family>.ts instead').toEqual([]);
  });

  it('every plan is for a registry kernel, and the others have an element count n', () => {
    const byName = new Map(registry.map((k) => [k.name, k]));
    expect(Object.keys(launchPlans).filter((n) => !byName.has(n))).toEqual([]);
    const noDefault = registry.filter((k) => !launchPlans[k.name] && !k.params.some(([p]) => p === 'n')).map((k) => k.name);
    expect(noDefault).toEqual([]);
  });

  it('helper entry points belong to the family of the file that declares them', () => {
    for (const [family, list] of Object.entries(helperKernels)) for (const k of list) expect(k.family, k.name).toBe(family);
    const clash = helpers.filter((h) => registry.some((k) => k.name === h.name)).map((h) => h.name);
    expect(clash).toEqual([]);
  });
});
