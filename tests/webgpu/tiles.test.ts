// GEMM tile sizes come from one place: the tables in engine/ops/matmul.ts and engine/ops/conv2d.ts.
// The plans size their dispatch grids from them and the WGSL reads them as constants the backend
// prepends (engine/ops/launch.ts), so other tiles than the defaults still compute the right numbers
// (float64 references); the tiled kernels, whose staging is written for 64×64, refuse other tiles
// at compile time instead of computing garbage.
import { describe, it, expect } from 'vitest';
import { getBackend, setBackend, tensor } from '../../engine/index.js';
import type { WebGpuBackend } from '../../engine/backends/webgpu.js';
import { matmulTiles } from '../../engine/ops/matmul.js';
import { conv2d, conv2dTiles } from '../../engine/ops/conv2d.js';
import { wgslSources } from '../../engine/generated/assets.js';
import { Generator } from '../../engine/random.js';
import { expectClose, randData, testBackends } from '../harness.js';
import * as refMm from '../reference/matmul.js';
import * as refConv from '../reference/conv2d.js';

const enabled = testBackends().includes('webgpu');

/** Runs `fn` with the given tiles compiled in, then restores the defaults (and their modules). */
async function withTiles(b: WebGpuBackend, mm: Record<string, [number, number]>, conv: Record<string, [number, number]>, fn: () => Promise<void>): Promise<void> {
  const saved = { mm: structuredClone(matmulTiles), conv: structuredClone(conv2dTiles), variant: b.variant };
  try {
    Object.assign(matmulTiles, mm);
    Object.assign(conv2dTiles, conv);
    await b.replaceFamilySource('matmul', wgslSources.matmul);
    await b.replaceFamilySource('conv2d', wgslSources.conv2d);
    await fn();
  } finally {
    Object.assign(matmulTiles, saved.mm);
    Object.assign(conv2dTiles, saved.conv);
    b.variant = saved.variant;
    await b.replaceFamilySource('matmul', wgslSources.matmul);
    await b.replaceFamilySource('conv2d', wgslSources.conv2d);
  }
}

describe.skipIf(!enabled)('webgpu GEMM tiles from one table', () => {
  it('other tiles than the defaults give the float64 results (matmul, conv2d forward and both gradients)', async () => {
    await setBackend('webgpu');
    const b = getBackend() as unknown as WebGpuBackend;
    const g = new Generator(5);
    // Workgroups of 16×4, 4×16 and 2×8 invocations instead of the default 8×8.
    await withTiles(b, { matmul_fwd: [64, 16] }, { conv2d_fwd: [32, 64], conv2d_bwd_x: [128, 16], conv2d_bwd_w: [16, 32] }, async () => {
      b.variant = 'regs';
      const [M, K, N] = [37, 19, 70];
      const A = randData(g, M * K);
      const B = randData(g, K * N);
      const c = await tensor(A.f32, [M, K]).matmul(tensor(B.f32, [K, N])).toArray();
      const r = refMm.matmul(A.f64, B.f64, M, K, N);
      expectClose('matmul with 64×16 tiles', c, r.c, { scale: r.scale, shape: [M, N] });

      // N·P·Q = 1144: the weight gradient takes the split path (conv2d_bwd_w_split + reduce_splits).
      const geom = { N: 8, C: 5, H: 13, W: 11, K: 70, R: 3, S: 3, sh: 1, sw: 1, ph: 1, pw: 1 };
      const [P, Q] = refConv.outSize(geom);
      const X = randData(g, geom.N * geom.C * geom.H * geom.W);
      const W = randData(g, geom.K * geom.C * geom.R * geom.S);
      const dy = randData(g, geom.N * geom.K * P * Q);
      const x = tensor(X.f32, [geom.N, geom.C, geom.H, geom.W], { requiresGrad: true });
      const w = tensor(W.f32, [geom.K, geom.C, geom.R, geom.S], { requiresGrad: true });
      const y = conv2d(x, w, null, { stride: 1, padding: 1 });
      y.backward(tensor(dy.f32, [geom.N, geom.K, P, Q]));
      const f = refConv.conv2d(X.f64, W.f64, geom);
      const bw = refConv.conv2dBackward(X.f64, W.f64, dy.f64, geom);
      expectClose('conv2d y with 32×64 tiles', await y.toArray(), f.y, { scale: f.scale, shape: [geom.N, geom.K, P, Q] });
      expectClose('conv2d dx with 128×16 tiles', await x.grad!.toArray(), bw.dx, { scale: bw.dxScale, shape: [geom.N, geom.C, geom.H, geom.W] });
      expectClose('conv2d dw with 16×32 tiles', await w.grad!.toArray(), bw.dw, { scale: bw.dwScale, shape: [geom.K, geom.C, geom.R, geom.S] });
      for (const t of [x, w, y]) t.dispose();
    });
  });

  it('a tile the tiled kernels are not written for fails to compile, naming the family', async () => {
    await setBackend('webgpu');
    const b = getBackend() as unknown as WebGpuBackend;
    await expect(withTiles(b, { matmul_fwd_tiled: [32, 32] }, {}, async () => {})).rejects.toThrow(/WGSL of family 'matmul' .*failed to compile/s);
  });
});
