// Runs in every test worker: releases the GPU device after each test file, so worker processes exit
// (dawn.node keeps a process alive while its device is reachable).
import { afterAll } from 'vitest';
import { disposeBackend } from '../engine/backend.js';

afterAll(() => {
  disposeBackend('webgpu');
});
