// The kernel sources that scripts/build.mjs compiles and embeds into engine/generated/assets.ts
// (wgsl/*.wgsl, assembly/**/*.ts), and a check that the embedded copy is current. Tests load the
// embedded copy, so without this check an edited kernel would be tested as it was at the last build
// (a false green). The build records one SHA-256 per source file in engine/generated/kernel_sources.json
// (not imported by the engine, so not bundled); vitest.config.ts compares them with the files on disk
// before any test runs and stops with "stale kernels: run npm run build" naming the files.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Where the build writes the fingerprints, relative to the project root. */
export const KERNEL_SOURCES_MANIFEST = 'engine/generated/kernel_sources.json';

function walk(root, dir, keep, out) {
  if (!existsSync(join(root, dir))) return;
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(root, p, keep, out);
    else if (keep(e.name)) out.push(relative(root, join(root, p)).split('\\').join('/'));
  }
}

/** SHA-256 of every kernel source under `root`, by path relative to it, in sorted order. */
export function kernelSourceHashes(root) {
  const files = [];
  walk(root, 'wgsl', (n) => n.endsWith('.wgsl'), files);
  walk(root, 'assembly', (n) => n.endsWith('.ts') || n.endsWith('.json'), files);
  files.sort();
  return Object.fromEntries(files.map((f) => [f, createHash('sha256').update(readFileSync(join(root, f))).digest('hex')]));
}

/** null when the embedded kernels were built from the sources now on disk; else a one-line reason. */
export function staleKernels(root) {
  const manifest = join(root, KERNEL_SOURCES_MANIFEST);
  if (!existsSync(manifest)) return `stale kernels: run npm run build (${KERNEL_SOURCES_MANIFEST} is missing: the kernels were never built here)`;
  const built = JSON.parse(readFileSync(manifest, 'utf8'));
  const now = kernelSourceHashes(root);
  const changed = [];
  for (const [f, h] of Object.entries(now)) if (built[f] !== h) changed.push(built[f] === undefined ? `${f} (new)` : f);
  for (const f of Object.keys(built)) if (!(f in now)) changed.push(`${f} (deleted)`);
  if (changed.length === 0) return null;
  const shown = changed.slice(0, 5).join(', ') + (changed.length > 5 ? `, and ${changed.length - 5} more` : '');
  return `stale kernels: run npm run build (changed since the last build: ${shown})`;
}
