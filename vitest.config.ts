import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applySoftwareAdapterEnv } from './engine/backends/webgpu_node_env.js';
import { browserSkipped, findChromium, CHROMIUM_ARGS, ISOLATION_HEADERS } from './scripts/chromium.js';
import { staleKernels } from './scripts/kernel_sources.mjs';

// The tests load the kernels embedded at build time (engine/generated/assets.ts), not wgsl/ and
// assembly/: refuse to run them on a copy older than the sources (scripts/kernel_sources.mjs).
const stale = staleKernels(fileURLToPath(new URL('.', import.meta.url)));
if (stale) throw new Error(stale);

// The op and engine suites run on every backend in PUGD_TEST_BACKENDS (tests/harness.ts). By default
// that is wasm and webgpu; on a machine without a GPU, webgpu runs on SwiftShader, whose Vulkan loader
// must be on LD_LIBRARY_PATH when the worker starts, so it is set here, before vitest forks the workers.
// PUGD_SKIP_WEBGPU=1 leaves WebGPU out, and says so.
// vitest loads this file more than once in one process (once per project): say things once.
const say = process.env.PUGD_TESTS_ANNOUNCED === '1' ? () => {} : (line: string) => console.log(line);
if (!process.env.PUGD_TEST_BACKENDS) {
  if (process.env.PUGD_SKIP_WEBGPU === '1') {
    process.env.PUGD_TEST_BACKENDS = 'wasm';
    say('pugd tests: PUGD_SKIP_WEBGPU=1 — the WebGPU suites are SKIPPED; backends: wasm');
  } else {
    process.env.PUGD_TEST_BACKENDS = 'wasm,webgpu';
  }
}
if (process.env.PUGD_TEST_BACKENDS.includes('webgpu')) {
  const d = applySoftwareAdapterEnv();
  say(`pugd tests: backends ${process.env.PUGD_TEST_BACKENDS}; WebGPU adapter: ${d.reason}`);
}

// The browser project (`chromium`): the same test bodies in headless Chromium, through vitest's browser
// mode and its Playwright provider, on navigator.gpu (SwiftShader without a GPU) and WASM. Files read
// through tests/platform.ts. Which suites run there, and why the others do not:
const browserSuites = [
  'tests/ops/**/*.test.ts', // every op on both backends against float64 and finite differences
  'tests/engine/**/*.test.ts', // autograd, flat memory over 100 steps, same seed → same bits
  'tests/webgpu/cross_backend.test.ts', // every registry kernel, webgpu vs wasm, on navigator.gpu
  'tests/webgpu/mechanics.test.ts',
  'tests/optim/**/*.test.ts', // PUGD golden vectors, optimizers vs float64, protocol, LR schedules
  'tests/datasets/images.test.ts', // JPEG and PNG decoders (and inflate, through PNG) on the fixtures
];
// Node only: tests/api.test.ts, tests/optim/{api,docs} and tests/cli (the built Node package, docs
// read from disk, the CLI); tests/webgpu/readback
// (counts Dawn's mapAsync), tests/webgpu/errors (swaps backend factories, Dawn-specific device loss);
// tests/wgsl/compile (reads wgsl/ with node:fs; every browser suite that creates the backend compiles
// the same WGSL); tests/datasets/{real,loader,fuzz} (tens of MB of real data, worker_threads, 10⁴
// mutated inputs per decoder: minutes in a browser, for code the decoder suite covers);
// tests/datasets/{inflate,layouts} (their references are Node's zlib and the system's tar over temp
// folders; the page's tests read CIFAR/MNIST/image-folder archives as Files); tests/models (a ResNet
// step each; the page's end-to-end test trains one in the browser); tests/browser/*.test.ts (they
// start Chromium themselves).

const root = fileURLToPath(new URL('.', import.meta.url)).replace(/\/$/, '');
const skipBrowser = browserSkipped();
if (skipBrowser) say('pugd tests: PUGD_SKIP_BROWSER=1 — the browser suites (project chromium) and the page tests are SKIPPED');
// Finding nothing is an error that says how to get a browser (scripts/chromium.ts), unless opted out.
const chromium = skipBrowser ? null : await findChromium();
if (chromium) say(`pugd tests: browser suites in headless Chromium ${chromium.path} (${chromium.source})`);
// Tests spawn Chromium themselves (page end-to-end, bench helpers) from the same discovery.
if (chromium) process.env.PUGD_CHROMIUM = chromium.path;
process.env.PUGD_TESTS_ANNOUNCED = '1';

const pugdEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('PUGD_'))) as Record<string, string>;
const dataDirs = [resolve(root, '../shared'), ...(process.env.PUGD_DATA ? [resolve(process.env.PUGD_DATA)] : [])];

export default defineConfig({
  // The browser project's pages are cross-origin isolated (as `npm run web` serves the training page),
  // so WASM threads are on there; tests/browser/chrome_webgpu.test.ts covers a page that is not.
  server: { headers: { ...ISOLATION_HEADERS }, fs: { allow: [root, ...dataDirs] } },
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['tests/**/*.test.ts'],
          setupFiles: ['tests/setup.ts'],
          pool: 'forks',
        },
      },
      ...(chromium
        ? [{
            extends: true as const,
            test: {
              name: 'chromium',
              include: browserSuites,
              // api/docs: the built Node package, and docs read with node:fs.
              exclude: ['tests/optim/{api,docs}.test.ts'],
              setupFiles: ['tests/browser.setup.ts'],
              provide: { pugdPlatform: { env: pugdEnv, projectRoot: root } },
              // One file at a time: each creates its own GPU device in the one GPU process, and the
              // machine has 2 cores shared with the Node project.
              fileParallelism: false,
              browser: {
                enabled: true,
                headless: true,
                screenshotFailures: false,
                instances: [{ browser: 'chromium' as const }],
                provider: playwright({ launchOptions: { executablePath: chromium.path, args: [...CHROMIUM_ARGS] } }),
              },
            },
          }]
        : []),
    ],
  },
});
