// esbuild configuration: the Node entry, the CLI and the browser bundle. WASM modules and WGSL are
// embedded through engine/generated/assets.ts (written by scripts/build.mjs), so each output is one
// self-contained file. `webgpu` (Dawn for Node) stays external: it is a native module.
import { existsSync } from 'node:fs';

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
  legalComments: 'none',
};

export const bundles = [
  {
    ...common,
    entryPoints: { index: 'engine/node.ts' },
    outdir: 'dist',
    platform: 'node',
    external: ['webgpu'],
  },
  ...(existsSync('cli/main.ts')
    ? [{
        ...common,
        entryPoints: { cli: 'cli/main.ts' },
        outdir: 'dist',
        platform: 'node',
        external: ['webgpu'],
        banner: { js: '#!/usr/bin/env node' },
      }]
    : []),
  {
    ...common,
    entryPoints: { 'pugd.browser': 'engine/browser.ts' },
    outdir: 'dist',
    platform: 'browser',
    external: ['webgpu', 'node:*'],
  },
];
