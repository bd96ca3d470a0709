// Runs the benchmarks: bundles bench/<name>.bench.ts with esbuild into out/bench/ (engine sources and
// npm packages included — tfjs-core's gradient registrations are ES modules Node cannot load on their
// own; only the native `webgpu` module stays external) and runs each in its own Node process, with the
// software-adapter env (SwiftShader on GPU-less Linux) set before it starts.
//
// Usage: npm run bench [-- name ...]         names without .bench.ts; default: every bench outside
//        node bench/run.mjs --build-only name  bench/lab/. --build-only leaves self-contained bundles in
//        out/bench/<name>.mjs for a GPU machine without npm (`node out/bench/matmul_gpu.mjs`; see
//        docs/WEBGPU.md).
// Environment: PUGD_THREADS (thread count of the wasm "all threads" rows), PUGD_BENCH_QUICK=1 (fewer
// repetitions), PUGD_BENCH_TFJS=0 (skip the TensorFlow.js side of resnet20_step); the WebGPU benches
// list theirs in their headers (BENCH_BATCH, BENCH_REPS, ...).
import { readdirSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync, execFileSync } from 'node:child_process';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildOnly = process.argv.includes('--build-only');
const wanted = process.argv.slice(2).filter((a) => a !== '--build-only');
const list = (sub) =>
  readdirSync(join(root, 'bench', sub)).filter((f) => f.endsWith('.bench.ts')).map((f) => `${sub ? `${sub}/` : ''}${f.slice(0, -'.bench.ts'.length)}`);
// Lab benches (bench/lab/) run only when named.
const all = [...list(''), ...list('lab')].sort();
const names = wanted.length ? wanted : list('').sort();
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length) {
  console.error(`bench: no bench named ${unknown.join(', ')} (have: ${all.join(', ')})`);
  process.exit(2);
}

let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  if (execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim()) commit += '-dirty';
} catch {
  // not a git checkout: keep 'unknown'
}

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
  external: ['webgpu'],
  // Prefer ES modules so that tfjs-core and its gradient registrations resolve to one copy.
  mainFields: ['module', 'main'],
  // Bundled CommonJS code may require() Node built-ins.
  banner: { js: "import { createRequire as __pugdCreateRequire } from 'node:module'; const require = __pugdCreateRequire(import.meta.url);" },
  sourcemap: 'inline',
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
  const r = spawnSync(process.execPath, ['--enable-source-maps', join(root, 'out/bench', `${n}.mjs`)], { stdio: 'inherit', env: { ...process.env, PUGD_COMMIT: commit } });
  if (r.status !== 0) {
    failed++;
    console.error(`bench: ${n} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exit(failed ? 1 : 0);
