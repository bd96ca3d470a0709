// Types of esbuild.config.mjs for the TypeScript benches that reuse its engine plugin.
import type { BuildOptions, Plugin } from 'esbuild';
export declare const bundles: BuildOptions[];
/** Keeps the root `browser.js` an import of the served `./pugd.browser.js` (one engine instance). */
export declare const enginePlugin: Plugin;
