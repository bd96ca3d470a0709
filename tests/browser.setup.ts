// Runs before every test file of the browser project (vitest.config.ts, project `chromium`): the
// counterpart of tests/setup.ts. Each test file runs in its own iframe, so releasing the GPU device
// after the file keeps SwiftShader's memory from piling up over the run. (No watchdog thread here:
// vitest's own timeouts fire in a browser, where no native call can block the test's thread.)
import { afterAll } from 'vitest';
import { disposeBackend } from '../engine/backend.js';

afterAll(() => {
  disposeBackend('webgpu');
});
