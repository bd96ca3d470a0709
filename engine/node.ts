// The Node entry point (`import ... from 'pugd'` in Node): the public API plus the Node-only backends.
export * from './index.js';
