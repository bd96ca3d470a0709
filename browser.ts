// The browser entry point (the `browser` condition of package.json exports, dist/pugd.browser.js): the
// public API. No Node built-in may be reached from here. The training page (web/) imports the engine
// only through this file, which esbuild keeps as an import of the served ./pugd.browser.js.
export * from './index.js';
