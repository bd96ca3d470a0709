// esbuild configuration: the Node entry, the CLI and the browser bundle. WASM modules and WGSL are
// embedded through engine/generated/assets.ts (written by scripts/build.mjs), so each output is one
// self-contained file. `webgpu` (Dawn for Node) stays external: it is a native module.
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

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
    entryPoints: { index: 'node.ts' },
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
    entryPoints: { 'pugd.browser': 'browser.ts' },
    outdir: 'dist',
    platform: 'browser',
    external: ['webgpu'],
    plugins: [nodeBuiltinStub()],
  },
];

// The training page (web/, served by `npm run web`): the page script and its worker. They reach the
// package only through browser.ts, which stays an import of the served ./pugd.browser.js, so the page
// uses the very bundle users import (and one copy of the engine's state).
export const enginePlugin = {
  name: 'pugd-engine-external',
  setup(build) {
    const root = build.initialOptions.absWorkingDir ?? process.cwd();
    build.onResolve({ filter: /^\./ }, (args) => {
      const rel = relative(root, resolve(args.resolveDir, args.path)).split('\\').join('/').replace(/\.(js|ts)$/, '');
      if (rel === 'browser') return { path: './pugd.browser.js', external: true };
      if (/^(engine|models|datasets)(\/|$)/.test(rel) || rel === 'index' || rel === 'node') {
        return { errors: [{ text: `${args.importer}: import the package through 'browser.js' at the project root, not '${args.path}' (the page must share the one engine bundle)` }] };
      }
      return undefined;
    });
  },
};
if (existsSync('web/worker.ts')) {
  bundles.push({
    ...common,
    entryPoints: { app: 'web/app.ts', worker: 'web/worker.ts' },
    outdir: 'dist/web',
    platform: 'browser',
    plugins: [enginePlugin],
  });
}

// Node-only paths of shared code (datasets reading folders, loader worker_threads) reach Node
// built-ins with dynamic import() behind a Node check. In the browser bundle each such import becomes
// a module that throws when loaded, so the bundle names no `node:` module at all (bundlers that
// consume it choke on those) and a path that should be unreachable says so if it is reached.
function nodeBuiltinStub() {
  return {
    name: 'pugd-node-builtin-stub',
    setup(build) {
      build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'pugd-node-stub' }));
      build.onLoad({ filter: /.*/, namespace: 'pugd-node-stub' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`pugd (browser bundle): ${args.path} is a Node built-in, not available in a browser`)});`,
        loader: 'js',
      }));
    },
  };
}
