// A child process for tests/webgpu/exit.test.ts: does one kind of WebGPU work through the built
// package (dist/index.js), leaves GPU work in flight, and then ends in one way. The parent checks
// the exit status against the one intended here; a crash at exit shows as SIGSEGV/SIGABRT instead.
//
// Usage: node tests/webgpu/exit_child.mjs <work> <way>
//   work: ops | optim | lost | disposed | throw
//   way:  natural (0) | exitcode (process.exitCode = 3) | exit (process.exit(5)) | uncaught (1) |
//         rejection (1) | sigint / sigterm (killed by the signal, Node's default handling) |
//         handler (own SIGTERM handler that calls process.exit(143), as a CLI does)
// Prints `ready <work>` once the work has checked its numbers, so the parent knows the exit came after.
// Plain JS (no build step): it runs as users' scripts do, against the built package.
const [work, way] = process.argv.slice(2);
const WORKS = ['ops', 'optim', 'lost', 'disposed', 'throw'];
const WAYS = ['natural', 'exitcode', 'exit', 'uncaught', 'rejection', 'sigint', 'sigterm', 'handler'];
if (!WORKS.includes(work) || !WAYS.includes(way)) {
  console.error(`exit_child: usage: exit_child.mjs <${WORKS.join('|')}> <${WAYS.join('|')}>`);
  process.exit(64);
}

const p = await import(new URL('../../dist/index.js', import.meta.url).href);
p.setBackendLogger(null);
await p.setBackend('webgpu');
const g = new p.Generator(17);

function check(cond, what) {
  if (!cond) {
    console.error(`exit_child ${work} ${way}: wrong result: ${what}`);
    process.exit(65);
  }
}

/**
 * Enqueues a chain of 128×128 matmuls (tens of milliseconds of kernels on a software adapter) and
 * submits it without waiting: the GPU is still busy when the process ends, which is when exit used
 * to crash. One pipeline, compiled once, so repeating it costs the child little.
 */
function enqueueWork() {
  const a = p.randn([128, 128], { generator: g, std: 0.05 });
  let m = a;
  for (let i = 0; i < 16; i++) m = p.matmul(m, a).relu();
  p.getBackend().flush();
}

/** A conv2d forward and backward whose results are read and checked for shape and finiteness. */
async function convOps() {
  const conv = new p.nn.Conv2d(4, 4, 3, { padding: 1, generator: g });
  const x = p.randn([2, 4, 8, 8], { generator: g, requiresGrad: true });
  const y = p.nn.functional.relu(conv.forward(x)).sum();
  y.backward();
  const dx = await x.grad.toArray();
  check(dx.length === 2 * 4 * 8 * 8 && dx.every(Number.isFinite) && dx.some((v) => v !== 0), 'conv2d input gradient');
}

/** A few exact readbacks: relu and a 2×2 matmul against values worked out by hand. */
async function smallOps() {
  const t = p.tensor([1, -2, 3, -4], [2, 2]);
  const r = await t.relu().toArray();
  check(r.join() === '1,0,3,0', `relu [1,-2,3,-4] gave ${r}`);
  const mm = await p.matmul(t, p.tensor([1, 0, 1, 1], [2, 2])).toArray();
  check(mm.join() === '-1,-2,-1,-4', `matmul gave ${mm}`);
}

/** Quadratic loss ½·wᵀAw-ish on a small weight matrix, for the optimizers. */
function lossOf(w, A) {
  return w.matmul(A).mul(w).sum().mul(0.5);
}

const optimizers = [
  (ps) => new p.optim.PUGD(ps, { lr: 0.05 }),
  (ps) => new p.optim.SAM(ps, { lr: 0.05, rho: 0.05 }),
  (ps) => new p.optim.SGD(ps, { lr: 0.05, momentum: 0.9 }),
  (ps) => new p.optim.Adam(ps, { lr: 0.01 }),
  (ps) => new p.optim.AdamW(ps, { lr: 0.01 }),
];

async function optimSteps() {
  const A = p.tensor([3, 1, 1, 2], [2, 2]);
  for (const make of optimizers) {
    const w = p.tensor([1, -2, 0.5, 3], [2, 2], { requiresGrad: true });
    const opt = make([w]);
    const losses = [];
    for (let i = 0; i < 3; i++) {
      const loss = await opt.step(() => {
        opt.zeroGrad();
        const l = lossOf(w, A);
        l.backward();
        return l;
      });
      losses.push(await loss.item());
      loss.dispose();
    }
    check(losses.every(Number.isFinite) && losses[2] < losses[0], `${opt.constructor.name} losses ${losses}`);
    // One more step that nobody reads: its update is in flight at exit.
    await opt.step(() => {
      opt.zeroGrad();
      const l = lossOf(w, A);
      l.backward();
      return l;
    });
  }
}

async function deviceLost() {
  await smallOps();
  const t = p.tensor([1, 2, 3], [3]);
  p.getBackend().simulateDeviceLoss();
  let msg = '';
  try {
    await t.relu().toArray();
  } catch (e) {
    msg = e.message;
  }
  check(/device was lost/.test(msg), `a read after the loss gave '${msg}'`);
  // The usual recovery: a fresh device, with work in flight on it at exit.
  await p.setBackend('webgpu');
  await smallOps();
}

/** A closure that throws after the forward and backward passes were enqueued. */
async function throwMidStep() {
  const w = p.tensor([1, -2, 0.5, 3], [2, 2], { requiresGrad: true });
  const A = p.tensor([3, 1, 1, 2], [2, 2]);
  const opt = new p.optim.PUGD([w], { lr: 0.05 });
  const step = opt.step(() => {
    opt.zeroGrad();
    const l = lossOf(w, A);
    l.backward();
    enqueueWork();
    throw new Error('deliberate error inside the step closure');
  });
  return step;
}

if (work === 'ops') {
  await smallOps();
  await convOps();
  enqueueWork();
} else if (work === 'optim') {
  await optimSteps();
  enqueueWork();
} else if (work === 'lost') {
  await deviceLost();
  enqueueWork();
} else if (work === 'disposed') {
  await smallOps();
  enqueueWork();
  // Disposed while its work runs; nothing of WebGPU is live at exit.
  p.disposeBackend('webgpu');
} else if (work === 'throw' && way !== 'uncaught') {
  let msg = '';
  try {
    await throwMidStep();
  } catch (e) {
    msg = e.message;
  }
  check(/deliberate error inside the step closure/.test(msg), `the step rejected with '${msg}'`);
  enqueueWork();
}
console.log(`ready ${work}`);

// Keeps submitting GPU work until the signal lands, so it arrives mid-work.
function workUntilKilled() {
  const busy = () => {
    if (work !== 'disposed') enqueueWork();
    setTimeout(busy, 1);
  };
  busy();
  // Never reached unless the signal is lost: fail loudly instead of hanging.
  setTimeout(() => {
    console.error('exit_child: the signal did not end the process within 60 s');
    process.exit(66);
  }, 60_000);
}

if (way === 'exitcode') process.exitCode = 3;
else if (way === 'exit') process.exit(5);
else if (way === 'uncaught') {
  if (work === 'throw') await throwMidStep(); // the step's own error, unhandled
  else setTimeout(() => {
    throw new Error('deliberate uncaught exception');
  }, 0);
} else if (way === 'rejection') Promise.reject(new Error('deliberate unhandled rejection'));
else if (way === 'sigint' || way === 'sigterm') {
  workUntilKilled();
  process.kill(process.pid, way === 'sigint' ? 'SIGINT' : 'SIGTERM');
} else if (way === 'handler') {
  process.on('SIGTERM', () => process.exit(143));
  workUntilKilled();
  process.kill(process.pid, 'SIGTERM');
}
