// Registers the data module's bytes (embedded as base64 by scripts/build.mjs) with datasets/wasm.ts.
// Imported by datasets/index.ts only, so the loader's worker script (datasets/worker.ts) stays free
// of the ~45 KB of base64: workers get the compiled module by message.
import { dataWasm } from '../engine/generated/assets.js';
import { decodeBase64 } from '../engine/util/base64.js';
import { setModuleBytes } from './wasm.js';

setModuleBytes(() => decodeBase64(dataWasm));
