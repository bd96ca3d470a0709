// The `nn` namespace: functional layer ops (and, with the models issue, modules).
export * as functional from './functional.js';
