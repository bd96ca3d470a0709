// Runs in every test worker:
// - releases the GPU device after each test file, so worker processes exit (dawn.node keeps a process
//   alive while its device is reachable);
// - a watchdog: if the worker's main thread stops turning its event loop for 5 minutes (PUGD_TEST_WATCHDOG_S; blocked inside
//   a native GPU driver call, where vitest's own timeouts cannot fire), a helper thread reports it and
//   aborts the worker, so a run fails with a message instead of hanging until CI's time limit.
import { afterAll } from 'vitest';
import { Worker } from 'node:worker_threads';
import { disposeBackend } from '../engine/backend.js';

afterAll(() => {
  disposeBackend('webgpu');
});

const beat = new Int32Array(new SharedArrayBuffer(4));
const tick = setInterval(() => Atomics.add(beat, 0, 1), 1000);
tick.unref();
const watchdog = new Worker(
  `const { workerData } = require('node:worker_threads');
   const { beat, limit } = workerData;
   let last = Atomics.load(beat, 0), still = 0;
   setInterval(() => {
     const now = Atomics.load(beat, 0);
     still = now === last ? still + 10 : 0;
     last = now;
     if (still >= limit) {
       process.stderr.write('pugd test watchdog: the worker main thread has been blocked for ' + limit + ' s (inside a native call, e.g. the GPU driver); aborting it\\n');
       process.kill(process.pid, 'SIGABRT');
     }
   }, 10000);`,
  { eval: true, workerData: { beat, limit: Number(process.env.PUGD_TEST_WATCHDOG_S ?? 300) } },
);
watchdog.unref();
