// The WASM kernel ABI: arguments are positional (input pointers, output pointers, params in spec
// order), so at instantiation every registry kernel's export must exist and take exactly
// inputs + outputs + params arguments (and its `_scratch` export the params). A kernel that fails the
// check fails alone, when it runs, with a message naming it; the rest of the build keeps working
// (never one blanket "SIMD unsupported" for every WASM suite).
import { describe, expect, it } from 'vitest';
import { kernel } from '../../engine/kernel.js';
import { kernels } from '../../engine/ops/index.js';
import { ew_affine } from '../../engine/ops/elementwise.js';
import { relu_fwd } from '../../engine/ops/relu.js';
import { kernelsWasm } from '../../engine/generated/assets.js';
import { decodeBase64 } from '../../engine/util/base64.js';
import { WasmBackend, checkKernelExports } from '../../engine/backends/wasm.js';

/** A function of `n` declared arguments, as a WASM export of that arity reads from JS. */
const fnOf = (n: number) => new Function(...Array.from({ length: n }, (_, i) => `a${i}`), '') as (...a: number[]) => void;

describe('wasm kernel ABI', () => {
  it('every registry kernel in this build has an export of its spec arity', async () => {
    const instance = await WebAssembly.instantiate(await WebAssembly.compile(decodeBase64(kernelsWasm)), {
      env: { abort: () => { throw new Error('abort'); } },
    });
    const ex = instance.exports as Record<string, unknown>;
    expect([...checkKernelExports(ex, kernels)]).toEqual([]);
    // The check is not vacuous: it saw every kernel and compared real arities.
    const all = Object.values(kernels).flat();
    expect(all.length).toBeGreaterThan(30);
    for (const k of all) expect((ex[k.name] as Function).length, k.name).toBe(k.inputs.length + k.outputs.length + k.params.length);
  });

  it('names the kernel, its file and both arities on a mismatch', () => {
    const k2 = kernel({ name: 'fam_two', family: 'fam', inputs: ['x'], outputs: ['y'], params: [['n', 'u32'], ['alpha', 'f32']] });
    const k3 = kernel({ name: 'fam_gone', family: 'fam', inputs: ['x'], outputs: ['y'], params: [['n', 'u32']] });
    const k4 = kernel({ name: 'fam_scr', family: 'fam', inputs: ['a', 'b'], outputs: ['c'], params: [['m', 'u32'], ['k', 'u32']] });
    const k5 = kernel({ name: 'fam_ok', family: 'fam', inputs: [], outputs: ['y'], params: [['n', 'u32']] });
    const ex = { fam_two: fnOf(3), fam_scr: fnOf(5), fam_scr_scratch: fnOf(1), fam_ok: fnOf(2), fam_ok_scratch: fnOf(1) };
    const bad = checkKernelExports(ex, { fam: [k2, k3, k4, k5] });
    expect(Object.fromEntries(bad)).toEqual({
      fam_two: "wasm: kernel 'fam_two' (assembly/fam.ts) takes 3 arguments, but its spec (engine/ops/fam.ts) passes 1 inputs + 1 outputs + 2 params = 4",
      fam_gone: "wasm: kernel 'fam_gone' (assembly/fam.ts) is missing from kernels.wasm: add the export to assembly/index.ts and rebuild with npm run build",
      fam_scr: "wasm: kernel 'fam_scr' (assembly/fam.ts): its fam_scr_scratch export takes 1 arguments, but its spec has 2 params",
    });
  });

  it('a missing export fails only its own kernel, with that message; the others run', async () => {
    const b = await WasmBackend.create({ build: 'single', threads: 1, withoutExports: ['relu_fwd'] });
    try {
      const x = b.alloc(16, 'x');
      const y = b.alloc(16, 'y');
      b.upload(x, new Float32Array([1, -2, 3, -4]));
      expect(() => b.run(relu_fwd, { n: 4 }, [x], [y])).toThrow(
        "wasm: kernel 'relu_fwd' (assembly/relu.ts) is missing from kernels.wasm: add the export to assembly/index.ts and rebuild with npm run build",
      );
      b.run(ew_affine, { n: 4, alpha: 2, beta: 1 }, [x], [y]);
      expect(Array.from(new Float32Array(await b.read(y)))).toEqual([3, -3, 7, -7]);
    } finally {
      b.dispose();
    }
  });
});
