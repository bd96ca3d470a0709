// The WGSL contract, checked for every kernel of the registry and every helper pass of the WebGPU
// backend (engine/ops/launch.ts, declared in engine/ops/<family>.ts):
//   - static (no GPU needed): each kernel has an `@compute` entry point of its name in
//     wgsl/<family>.wgsl, and exactly one `// @kernels …`-annotated `struct …Params` lists it, whose
//     fields equal the spec's params in order and type (binding 0 is that uniform);
//   - on a WebGPU adapter: every file compiles (with the common prelude) and every entry point builds a
//     pipeline for each combination of its override constants.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { helperKernels, kernels } from '../../engine/ops/index.js';
import type { KernelSpec } from '../../engine/kernel.js';
import { testBackends } from '../harness.js';

const dir = new URL('../../wgsl/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.wgsl'));
const source = (family: string) => readFileSync(new URL(`${family}.wgsl`, dir), 'utf8');
const families = [...new Set([...Object.keys(kernels), ...Object.keys(helperKernels)])];
const specsOf = (f: string): KernelSpec[] => [...(kernels[f] ?? []), ...(helperKernels[f] ?? [])];

/** `// @kernels a b` + `struct X { f: u32, … }` pairs of a file: kernel name → [[field, type], …]. */
function paramStructs(src: string): Map<string, [string, string][]> {
  const out = new Map<string, [string, string][]>();
  const re = /\/\/ @kernels ([\w ]+)\n\s*struct (\w+Params) \{([^}]*)\}/g;
  for (const m of src.matchAll(re)) {
    const fields = m[3].split(',').map((s) => s.trim()).filter(Boolean).map((s) => s.split(':').map((t) => t.trim()) as [string, string]);
    for (const k of m[1].trim().split(/\s+/)) {
      if (out.has(k)) throw new Error(`kernel ${k} is listed by two @kernels params structs`);
      out.set(k, fields);
    }
  }
  return out;
}

describe('WGSL sources match the kernel registry', () => {
  it('every family of the registry has a WGSL file, and every file is a family or the prelude', () => {
    for (const f of Object.keys(kernels)) expect(files, `wgsl/${f}.wgsl`).toContain(`${f}.wgsl`);
    for (const f of files) expect([...families, 'common'], `wgsl/${f} belongs to no kernel family`).toContain(f.slice(0, -5));
  });

  for (const family of families) {
    it(`${family}.wgsl: an entry point and a params struct in spec order for each kernel`, () => {
      const src = source(family);
      const structs = paramStructs(src);
      for (const k of specsOf(family)) {
        expect(src, `${family}.wgsl has no @compute entry point '${k.name}'`).toMatch(new RegExp(`@compute @workgroup_size\\([^)]*\\)\\s*\\n\\s*fn ${k.name}\\(`));
        const fields = structs.get(k.name);
        expect(fields, `${family}.wgsl: no '// @kernels … ${k.name}' params struct`).toBeDefined();
        expect(fields, `${family}.wgsl: params struct of ${k.name} vs the spec's params`).toEqual(k.params.map(([n, t]) => [n, t]));
        for (const c of k.constants ?? []) expect(src, `${k.name}: override constant '${c}'`).toMatch(new RegExp(`override ${c}: u32`));
      }
    });
  }
});

const onGpu = testBackends().includes('webgpu');
if (!onGpu) console.log('tests/wgsl/compile.test.ts: WebGPU compilation checks skipped (webgpu is not in PUGD_TEST_BACKENDS; PUGD_SKIP_WEBGPU=1?)');

describe.skipIf(!onGpu)('WGSL compiles and every entry point builds a pipeline (webgpu)', () => {
  it('all families compile; all pipelines validate', async () => {
    const { WebGpuBackend } = await import('../../engine/backends/webgpu.js');
    const b = await WebGpuBackend.create();
    try {
      expect(await b.buildAllPipelines()).toEqual([]);
    } finally {
      b.dispose();
    }
  });

  it('a WGSL error names the family, its kernels, the line and the compiler message', async () => {
    const { WebGpuBackend } = await import('../../engine/backends/webgpu.js');
    const b = await WebGpuBackend.create();
    try {
      const bad = 'struct ReluParams { n: u32 }\n@compute @workgroup_size(64) fn relu_fwd() { let v: f32 = 1u; }\n';
      await expect(b.compileFamily('relu', bad)).rejects.toThrow(/WGSL of family 'relu' \(kernels relu_fwd, relu_bwd\) failed to compile:\n\s+relu\.wgsl:2:\d+: .*/);
    } finally {
      b.dispose();
    }
  });
});
