// Runs the benchmarks: bundles each bench/<name>.bench.ts with esbuild (engine sources included, npm
// packages left external) into node_modules/.cache/pugd-bench/ and runs it with node, in order.
// Each bench prints one JSON object per line on stdout.
//
// Usage: npm run bench [-- name ...]     e.g. `npm run bench -- matmul conv2d`
// Environment: PUGD_THREADS (thread count of the "all threads" rows), PUGD_BENCH_QUICK=1 (fewer
// repetitions), PUGD_BENCH_TFJS=0 (skip the TensorFlow.js side of resnet20_step).
import { readdirSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync, execFileSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const all = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.bench.ts')).map((f) => f.slice(0, -'.bench.ts'.length)).sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`bench: no bench named ${unknown.join(', ')} (have: ${all.join(', ')})`);
  process.exit(2);
}
const names = wanted.length ? wanted : all;

let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim();
  if (dirty) commit += '-dirty';
} catch {
  // not a git checkout: keep 'unknown'
}

const esbuild = await import('esbuild');
const outdir = join(root, 'node_modules/.cache/pugd-bench');
mkdirSync(outdir, { recursive: true });
let failed = 0;
for (const name of names) {
  const outfile = join(outdir, `${name}.mjs`);
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: [join(root, 'bench', `${name}.bench.ts`)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    // npm packages are bundled too (tfjs-core's gradient registrations are ES modules Node cannot
    // load on their own); only the native webgpu module stays external.
    external: ['webgpu'],
    mainFields: ['module', 'main'],
    // Bundled CommonJS code calls require() for Node built-ins; give the ES module one.
    banner: { js: "import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);" },
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  const r = spawnSync(process.execPath, ['--enable-source-maps', outfile], { stdio: 'inherit', env: { ...process.env, PUGD_COMMIT: commit } });
  if (r.status !== 0) {
    console.error(`bench: ${name} failed (exit ${r.status ?? r.signal})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
