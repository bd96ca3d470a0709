// The browser entry point (the `browser` condition of package.json exports): the public API plus the
// browser backends. No Node built-ins may be reached from here.
export * from './index.js';
