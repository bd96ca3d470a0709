// The Node entry point (`import ... from 'pugd'` in Node, dist/index.js): the public API plus the
// engine's Node-only helpers (engine/node.ts).
export * from './index.js';
export * from './engine/node.js';
