// pugd's public API: the engine (engine/index.ts: tensors, autograd, ops, nn, optim, io, backends),
// the model zoo and the data sets. The Node entry (node.ts → dist/index.js) and the browser entry
// (browser.ts → dist/pugd.browser.js) export exactly this. Outside checks use these names: extend,
// never rename. This is the first module that puts engine/, models/ and datasets/ together: engine/
// knows neither of the layers above it (tests/structure/layers.test.ts).
export * from './engine/index.js';
export * as models from './models/index.js';
export * as datasets from './datasets/index.js';
