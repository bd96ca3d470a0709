// Runs the benchmarks: bundles bench/<name>.bench.ts with esbuild into out/bench/ and runs each in its
// own Node process, with the software-adapter env (SwiftShader on GPU-less Linux) set before it starts.
// Each bench prints one JSON object per line on stdout.
// Usage: node bench/run.mjs [--build-only] [name ...]   (names without .bench.ts; default: every bench
// outside bench/lab/). `npm run bench` builds first. --build-only leaves self-contained bundles in
// out/bench/<name>.mjs (only the `webgpu` package stays external), for a GPU machine without npm:
// `node out/bench/matmul_gpu.mjs` there (see docs/WEBGPU.md).
import { readdirSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildOnly = process.argv.includes('--build-only');
const wanted = process.argv.slice(2).filter((a) => a !== '--build-only');
const list = (sub) => readdirSync(join(root, 'bench', sub)).filter((f) => f.endsWith('.bench.ts')).map((f) => `${sub ? `${sub}/` : ''}${f.slice(0, -'.bench.ts'.length)}`);
// Lab benches (bench/lab/) run only when named.
const all = [...list(''), ...list('lab')].sort();
const defaults = list('').sort();
const names = wanted.length ? wanted : defaults;
for (const n of names) if (!all.includes(n)) throw new Error(`bench: no bench/${n}.bench.ts (have: ${all.join(', ')})`);

mkdirSync(join(root, 'out/bench'), { recursive: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { ...Object.fromEntries(names.map((n) => [n, `bench/${n}.bench.ts`])), _env: 'engine/backends/webgpu_node_env.ts' },
  outdir: 'out/bench',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'es2022',
  // Dawn is a native module; everything else is bundled, preferring ES modules so that tfjs-core and
  // its gradient registrations resolve to one copy.
  external: ['webgpu'],
  mainFields: ['module', 'main'],
  // Bundled CommonJS code may require() Node built-ins.
  banner: { js: "import { createRequire as __pugdCreateRequire } from 'node:module'; const require = __pugdCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

if (buildOnly) {
  console.error(`bench: bundles in out/bench/: ${names.map((n) => `${n}.mjs`).join(', ')}`);
  process.exit(0);
}
const { applySoftwareAdapterEnv } = await import(join(root, 'out/bench/_env.mjs'));
const d = applySoftwareAdapterEnv();
console.error(`bench: WebGPU adapter: ${d.reason}`);
let failed = 0;
for (const n of names) {
  console.error(`bench: ${n}`);
  const r = spawnSync(process.execPath, [join(root, 'out/bench', `${n}.mjs`)], { stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    failed++;
    console.error(`bench: ${n} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exit(failed ? 1 : 0);
