// The kernel profiler (issue 12 item 1): setBackend(name, { profile: true }) / PUGD_PROFILE=1 and
// `pugd train --profile`. On WebGPU (SwiftShader here, which has timestamp-query) every kernel gets
// calls, host ms and GPU ms from timestamp queries; on WASM calls and host ms. Checked: the times are
// positive, the calls equal the backend's dispatch counter, kernel rows sum to the total and steps to
// the kernels, and profiling changes no result bit. Each case runs in a fresh Node process, since the
// profile and Dawn's flags are fixed when the device is created (the test worker's device exists).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testBackends } from '../harness.js';

const backends = testBackends();
const entry = new URL('../../dist/index.js', import.meta.url).href;
const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

const node = (script: string, env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import * as p from ${JSON.stringify(entry)};\n${script}`], {
    encoding: 'utf8', env: { ...process.env, PUGD_PROFILE: '', ...env }, timeout: 120_000,
  });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
};

// Three training steps of a small MLP (matmul, relu, softmax-CE, backward, SGD): many kernels, each
// called several times. Prints the weights' bits, the dispatch count over the steps and the report.
const workload = (setup: string) => `
  p.setBackendLogger(null);
  ${setup}
  const b = p.getBackend();
  p.manualSeed(7);
  const l1 = new p.nn.Linear(16, 32), l2 = new p.nn.Linear(32, 4);
  const opt = new p.optim.SGD([...l1.parameters(), ...l2.parameters()], { lr: 0.1, momentum: 0.9 });
  const x = p.randn([8, 16]);
  const d0 = b.counters.dispatches;
  for (let s = 0; s < 3; s++) {
    opt.zeroGrad();
    const loss = p.tidy(() => p.mean(p.square(l2.forward(p.relu(l1.forward(x))))));
    loss.backward();
    opt.step();
    loss.dispose();
    p.profileStep();
  }
  const w = await l1.weight.toArray();
  const dispatches = b.counters.dispatches - d0;
  const report = await p.profileReport();
  console.log(JSON.stringify({ bits: Array.from(new Uint32Array(new Float32Array(w).buffer)), dispatches, report, flags: b.info.dawnFlags ?? null }));`;

const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(b)));

interface Report {
  backend: string;
  gpuTiming: boolean;
  kernels: Record<string, { calls: number; cpuMs: number; gpuMs: number | null; passes: number; entries?: Record<string, { passes: number; gpuMs: number }> }>;
  total: { calls: number; cpuMs: number; gpuMs: number | null; passes: number };
  steps: { step: number; wallMs: number; gpuMs: number | null; dispatches: number }[];
  submits: { count: number; cpuMs: number };
}

function checkReport(r: Report, dispatches: number, gpu: boolean) {
  expect(r.gpuTiming).toBe(gpu);
  const rows = Object.values(r.kernels);
  expect(rows.length).toBeGreaterThan(4);
  expect(r.total.calls).toBe(dispatches);
  expect(rows.reduce((a, e) => a + e.calls, 0)).toBe(dispatches);
  close(rows.reduce((a, e) => a + e.cpuMs, 0), r.total.cpuMs);
  for (const e of rows) expect(e.cpuMs).toBeGreaterThan(0);
  expect(r.steps.map((s) => s.step)).toEqual([0, 1, 2]);
  expect(r.steps.reduce((a, s) => a + s.dispatches, 0)).toBe(dispatches);
  for (const s of r.steps) expect(s.wallMs).toBeGreaterThan(0);
  if (gpu) {
    for (const e of rows) {
      expect(e.passes).toBeGreaterThanOrEqual(e.calls);
      expect(e.gpuMs!).toBeGreaterThan(0);
    }
    close(rows.reduce((a, e) => a + e.gpuMs!, 0), r.total.gpuMs!);
    // A kernel launched as several passes: its entry points' times sum to its own.
    for (const e of rows.filter((x) => x.entries)) {
      close(Object.values(e.entries!).reduce((a, x) => a + x.gpuMs, 0), e.gpuMs!);
      expect(Object.values(e.entries!).reduce((a, x) => a + x.passes, 0)).toBe(e.passes);
    }
    close(r.steps.reduce((a, s) => a + s.gpuMs!, 0), r.total.gpuMs!);
    for (const s of r.steps) expect(s.gpuMs!).toBeGreaterThan(0);
    // Each profiled batch was submitted; its host time is counted apart from the kernels'.
    expect(r.submits.count).toBeGreaterThan(0);
    expect(r.submits.cpuMs).toBeGreaterThan(0);
  } else {
    expect(r.total.gpuMs).toBeNull();
    for (const e of rows) expect(e.gpuMs).toBeNull();
    if (r.backend.startsWith('wasm')) expect(r.submits).toEqual({ count: 0, cpuMs: 0 });
  }
}

describe.runIf(backends.includes('webgpu'))('profiler on WebGPU', () => {
  it('times every kernel from timestamp queries, counts its dispatches, and changes no bit', () => {
    const on = node(workload(`await p.setBackend('webgpu', { profile: true });`));
    expect(on.status, on.err).toBe(0);
    const a = JSON.parse(on.out);
    // Exact timestamps: the flag is added to Dawn's when profiling starts Dawn.
    expect(a.flags).toContain('disable-dawn-features=timestamp_quantization');
    checkReport(a.report, a.dispatches, true);
    const off = node(workload(`await p.setBackend('webgpu');`));
    expect(off.status, off.err).toBe(0);
    const b = JSON.parse(off.out);
    expect(b.report).toBeNull();
    expect(b.flags).toEqual([]);
    expect(b.dispatches).toBe(a.dispatches);
    expect(a.bits).toEqual(b.bits);
  });

  it('PUGD_PROFILE=1 turns it on; a device made without it reports CPU times only and says why', () => {
    const env = node(workload(`await p.setBackend('webgpu');`), { PUGD_PROFILE: '1' });
    expect(env.status, env.err).toBe(0);
    checkReport(JSON.parse(env.out).report, JSON.parse(env.out).dispatches, true);
    const late = node(workload(`await p.setBackend('webgpu'); await p.setBackend('webgpu', { profile: true });`));
    expect(late.status, late.err).toBe(0);
    const r = JSON.parse(late.out);
    checkReport(r.report, r.dispatches, false);
    expect(r.report.note).toMatch(/created without profiling/);
  });
});

describe.runIf(backends.includes('wasm'))('profiler on WASM', () => {
  it('counts and times every kernel on the CPU (no GPU column), and changes no bit', () => {
    const on = node(workload(`await p.setBackend('wasm', { profile: true, threads: 1 });`));
    expect(on.status, on.err).toBe(0);
    const a = JSON.parse(on.out);
    checkReport(a.report, a.dispatches, false);
    const off = node(workload(`await p.setBackend('wasm', { threads: 1 });`));
    const b = JSON.parse(off.out);
    expect(b.report).toBeNull();
    expect(a.bits).toEqual(b.bits);
  });
});

describe('pugd train --profile', () => {
  const which = backends.includes('webgpu') ? 'webgpu' : 'wasm';
  it(`writes profile.json in the run folder and the table on stderr (${which})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'pugd-profile-'));
    try {
      const out = join(dir, 'run');
      const r = spawnSync(process.execPath, [cli, 'train', '--dataset', 'mnist', '--width', '2', '--batch-size', '16', '--limit-train', '48', '--limit-test', '16', '--epochs', '1', '--backend', which, '--out', out, '--profile'], {
        encoding: 'utf8', env: { ...process.env, PUGD_PROFILE: '' }, timeout: 300_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const rep = JSON.parse(readFileSync(join(out, 'profile.json'), 'utf8')) as Report;
      expect(rep.gpuTiming).toBe(which === 'webgpu');
      expect(rep.steps.length).toBe(3);
      expect(rep.total.calls).toBe(Object.values(rep.kernels).reduce((a, e) => a + e.calls, 0));
      expect(rep.total.cpuMs).toBeGreaterThan(0);
      if (which === 'webgpu') {
        expect(rep.total.gpuMs!).toBeGreaterThan(0);
        // The ResNet's BatchNorm launches helper passes (bn_stats_partial, …): timed per entry point.
        const multi = Object.values(rep.kernels).filter((e) => e.entries);
        expect(multi.length).toBeGreaterThan(0);
        for (const e of multi) close(Object.values(e.entries!).reduce((a, x) => a + x.gpuMs, 0), e.gpuMs!);
      }
      expect(r.stderr).toMatch(/pugd profile \(/);
      expect(r.stderr).toMatch(/\nkernel \(↳ its passes' entry points\) +calls +cpu ms +gpu ms +gpu %\n/);
      expect(r.stderr).toMatch(/\nTOTAL +\d+ /);
      expect(r.stderr).toMatch(/steps: 3; per step: wall [\d.]+ ms, summed GPU /);
      expect(r.stderr).toContain('profile.json');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
