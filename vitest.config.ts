import { defineConfig } from 'vitest/config';
import { applySoftwareAdapterEnv } from './engine/backends/webgpu_node_env.js';

// The op and engine suites run on every backend in PUGD_TEST_BACKENDS (tests/harness.ts). By default
// that is wasm and webgpu; on a machine without a GPU, webgpu runs on SwiftShader, whose Vulkan loader
// must be on LD_LIBRARY_PATH when the worker starts, so it is set here, before vitest forks the workers.
// PUGD_SKIP_WEBGPU=1 leaves WebGPU out, and says so.
if (!process.env.PUGD_TEST_BACKENDS) {
  if (process.env.PUGD_SKIP_WEBGPU === '1') {
    process.env.PUGD_TEST_BACKENDS = 'wasm';
    console.log('pugd tests: PUGD_SKIP_WEBGPU=1 — the WebGPU suites are SKIPPED; backends: wasm');
  } else {
    process.env.PUGD_TEST_BACKENDS = 'wasm,webgpu';
  }
}
if (process.env.PUGD_TEST_BACKENDS.includes('webgpu')) {
  const d = applySoftwareAdapterEnv();
  console.log(`pugd tests: backends ${process.env.PUGD_TEST_BACKENDS}; WebGPU adapter: ${d.reason}`);
}

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
