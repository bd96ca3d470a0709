// WebGPU mechanics that make it fast, checked through the backend's own objects and counters:
//   - a freed buffer is reused only after the submit that last used it (pending until then);
//   - pipelines are cached by kernel + constants, not by shape (new shapes compile nothing new);
//   - many dispatches share one submit (batches), and free/alloc in a loop plateaus (pool).
import { describe, it, expect } from 'vitest';
import { WebGpuBackend } from '../../engine/backends/webgpu.js';
import { relu_fwd } from '../../engine/ops/relu.js';
import { testBackends } from '../harness.js';

const enabled = testBackends().includes('webgpu');
if (!enabled) console.log('tests/webgpu/mechanics.test.ts: SKIPPED — webgpu is not in PUGD_TEST_BACKENDS');
type Internal = { gpu: GPUBuffer };

describe.skipIf(!enabled)('webgpu mechanics', () => {
  it('reuses a freed buffer only after the submit that last used it', async () => {
    const b = await WebGpuBackend.create();
    try {
      const x = b.alloc(4096, 'x');
      const y = b.alloc(4096, 'y');
      b.upload(x, new Float32Array(1024).fill(-1));
      b.run(relu_fwd, { n: 1024 }, [x], [y]); // recorded, not submitted
      const yGpu = (y as unknown as Internal).gpu;
      b.free(y);
      const z = b.alloc(4096, 'z');
      expect((z as unknown as Internal).gpu, 'same-size buffer handed out while queued work still writes the freed one').not.toBe(yGpu);
      b.flush();
      const w = b.alloc(4096, 'w');
      expect((w as unknown as Internal).gpu, 'after the submit, the freed buffer is reused').toBe(yGpu);
      for (const q of [x, z, w]) b.free(q);
    } finally {
      b.dispose();
    }
  });

  it('caches pipelines by kernel and constants, not by shape; batches dispatches per submit; the pool plateaus', async () => {
    const b = await WebGpuBackend.create();
    try {
      const p0 = b.counters.pipelines;
      for (const n of [7, 64, 1000, 4097, 65537]) {
        const x = b.alloc(n * 4, 'x');
        const y = b.alloc(n * 4, 'y');
        b.run(relu_fwd, { n }, [x], [y]);
        b.free(x);
        b.free(y);
      }
      expect(b.counters.pipelines - p0, 'one relu pipeline for five shapes').toBe(1);
      const s0 = b.counters.submits;
      const d0 = b.counters.dispatches;
      const x = b.alloc(4096, 'x');
      const y = b.alloc(4096, 'y');
      for (let i = 0; i < 300; i++) b.run(relu_fwd, { n: 1024 }, [i % 2 ? y : x], [i % 2 ? x : y]);
      await b.sync();
      const dispatches = b.counters.dispatches - d0;
      const submits = b.counters.submits - s0;
      expect(dispatches).toBe(300);
      expect(submits, `${dispatches} dispatches in ${submits} submits`).toBeLessThanOrEqual(4);
      // Allocate and free the same shapes repeatedly: live bytes return to the start, nothing grows.
      const live0 = b.counters.liveBytes;
      for (let i = 0; i < 50; i++) {
        const t = b.alloc(10_000, 't');
        b.run(relu_fwd, { n: 1024 }, [x], [t]);
        b.free(t);
      }
      await b.sync();
      expect(b.counters.liveBytes).toBe(live0);
      b.free(x);
      b.free(y);
    } finally {
      b.dispose();
    }
  });
});
