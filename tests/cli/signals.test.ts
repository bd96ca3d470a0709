// Ctrl-C and SIGTERM during `pugd train` (issue 15 item 3, issue 16 item 2): the first signal finishes
// the step in progress (not the epoch), writes a checkpoint of exactly that step and exits 130; a second
// one says what it does; and signals reach the training process when the CLI re-runs itself for the
// SwiftShader adapter (forwarded by the parent, and the child stops when the parent dies).
import { describe, it, expect, vi, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testBackends } from '../harness.js';
import { StopOnSignal } from '../../cli/stop.js';
import { prepareSoftwareAdapterEnv } from '../../engine/backends/webgpu_node_env.js';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const reexecChild = fileURLToPath(new URL('./reexec_child.mjs', import.meta.url));
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `pugd-${p}-`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Ended {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `args` with node; `onOut(stdout, pid)` sees stdout as it grows. Resolves when all pipes close. */
function start(args: string[], env: NodeJS.ProcessEnv, onOut?: (stdout: string, pid: number) => void, limitMs = 240_000): Promise<Ended> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
      onOut?.(stdout, p.pid!);
    });
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += '\n[signals.test: killed, no exit in time]';
      p.kill('SIGKILL');
    }, limitMs);
    p.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

const events = (stdout: string) => stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const lines = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean).length : 0);

describe('pugd train: the first Ctrl-C finishes the step in progress (WASM)', () => {
  it('SIGINT at step k of a 40-step epoch: checkpoint of step k or k + 1, exit 130, nothing trained after it', async () => {
    const cwd = tmp('sigint');
    const out = join(cwd, 'run');
    const args = [cli, 'train', '--dataset', 'mnist', '--width', '2', '--batch-size', '32', '--limit-train', '1280', '--limit-test', '32',
      '--epochs', '2', '--backend', 'wasm', '--json', '--log-steps', '--out', out];
    let k = -1;
    let polling: ReturnType<typeof setInterval> | undefined;
    const r = await start(args, { ...process.env, PUGD_DATA: tmp('nodata') }, (_s, pid) => {
      if (polling) return;
      // Once training runs: freeze the process, read how many steps it has finished (steps.jsonl is
      // written after each step), send SIGINT and let it go on. The step it was in, k + 1, may finish;
      // or, frozen between writing step k and looking for signals, it stops at k.
      polling = setInterval(() => {
        if (k >= 0 || lines(join(out, 'steps.jsonl')) < 5) return;
        process.kill(pid, 'SIGSTOP');
        k = lines(join(out, 'steps.jsonl'));
        process.kill(pid, 'SIGINT');
        process.kill(pid, 'SIGCONT');
        clearInterval(polling);
      }, 5);
    });
    clearInterval(polling);
    const tail = `\nstdout: ${r.stdout.slice(-800)}\nstderr: ${r.stderr.slice(-800)}`;
    expect(k, tail).toBeGreaterThanOrEqual(5);
    expect(r.status, tail).toBe(130);
    expect(r.stderr).toContain('pugd: SIGINT: stopping after this step and writing a checkpoint');
    const ev = events(r.stdout);
    expect(ev.find((e) => e.event === 'signal')).toMatchObject({ signal: 'SIGINT', action: 'stop-after-step' });
    const ck = readdirSync(join(out, 'checkpoints')).filter((f) => f.endsWith('.json'));
    expect(ck.length).toBe(1);
    const m = JSON.parse(readFileSync(join(out, 'checkpoints', ck[0]), 'utf8'));
    expect([k, k + 1]).toContain(m.step);
    // 40 steps per epoch: the stop is mid-epoch, at the step the checkpoint records, not later.
    expect([m.epoch, m.batchInEpoch]).toEqual([0, m.step]);
    expect(lines(join(out, 'steps.jsonl'))).toBe(m.step);
    expect(ev.at(-1)).toMatchObject({ event: 'stopped', steps: m.step, last_checkpoint: join(out, 'checkpoints', ck[0]) });
  }, 300_000);
});

describe('StopOnSignal: what a first and a second signal do', () => {
  let stop: StopOnSignal | undefined;
  afterEach(() => {
    stop?.uninstall();
    vi.restoreAllMocks();
  });

  function setUp() {
    const said: string[] = [];
    const emitted: Record<string, unknown>[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (said.push(String(s)), true));
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    stop = new StopOnSignal((o) => emitted.push(o));
    return { said, emitted, exit, stop };
  }

  it('a second signal while a step runs quits at once with 130 and names the last checkpoint', () => {
    const { said, emitted, exit, stop } = setUp();
    const output = { checkpoint: async () => '/run/checkpoints/step-000004.json' };
    stop.watch(output, '/run/checkpoints/step-000004.json');
    process.emit('SIGINT', 'SIGINT');
    expect(stop.requested).toBe(true);
    expect(exit).not.toHaveBeenCalled();
    process.emit('SIGINT', 'SIGINT');
    expect(exit).toHaveBeenCalledWith(130);
    expect(said.join('')).toContain('pugd: SIGINT: quitting now: the unfinished step is not checkpointed; the last checkpoint is /run/checkpoints/step-000004.json');
    expect(emitted.map((e) => e.action)).toEqual(['stop-after-step', 'quit']);
  });

  it('with no checkpoint yet, the second signal says none has been written', () => {
    const { said, exit, stop } = setUp();
    stop.watch({ checkpoint: async () => 'x' }, null);
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGTERM', 'SIGTERM');
    expect(exit).toHaveBeenCalledWith(130);
    expect(said.join('')).toContain('no checkpoint has been written in this run');
  });

  it('a second signal while the checkpoint is written lets the write complete and says so', async () => {
    const { said, emitted, exit, stop } = setUp();
    let finish!: (p: string) => void;
    const output: { checkpoint?: (c: never) => Promise<string> } = { checkpoint: () => new Promise<string>((r) => (finish = r)) };
    stop.watch(output, null);
    process.emit('SIGINT', 'SIGINT');
    const writing = output.checkpoint!({} as never);
    process.emit('SIGINT', 'SIGINT');
    expect(exit).not.toHaveBeenCalled();
    expect(said.join('')).toContain('a checkpoint is being written; quitting as soon as it is complete');
    finish('/run/checkpoints/step-000007.json');
    expect(await writing).toBe('/run/checkpoints/step-000007.json');
    // After the write, a further signal names it.
    process.emit('SIGINT', 'SIGINT');
    expect(exit).toHaveBeenCalledWith(130);
    expect(said.join('')).toContain('the last checkpoint is /run/checkpoints/step-000007.json');
    expect(emitted.map((e) => e.action)).toEqual(['stop-after-step', 'finish-checkpoint', 'quit']);
  });

  it('a signal before training starts stops before the first step', () => {
    const { said, emitted, stop } = setUp();
    process.emit('SIGINT', 'SIGINT');
    expect(stop.requested).toBe(true);
    expect(said.join('')).toContain('stopping before training starts');
    expect(emitted[0]).toMatchObject({ event: 'signal', action: 'stop-before-training' });
  });
});

// The re-exec needs SwiftShader (the devDependency @sparticuz/chromium or Debian's chromium).
const forced: NodeJS.ProcessEnv = { ...process.env, PUGD_SOFTWARE_ADAPTER: '1', LD_LIBRARY_PATH: '' };
delete forced.VK_ICD_FILENAMES;
delete forced.VK_DRIVER_FILES;
delete forced.PUGD_SOFTWARE_ADAPTER_REEXEC;
const adapter = prepareSoftwareAdapterEnv(forced);
if (!adapter.software) console.log(`tests/cli/signals.test.ts: re-exec cases SKIPPED — ${adapter.reason}`);

/** The PIDs of `pid`'s children (Linux /proc). */
function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!adapter.software)('signals reach a process re-run for the SwiftShader adapter', () => {
  it.each([['SIGTERM', 7], ['SIGINT', 8]] as const)('%s to the parent is passed on to the child once; the parent exits with its status', async (sig, code) => {
    let childPid = 0;
    const r = await start([reexecChild], forced, (s, pid) => {
      const m = /child (\d+) of (\d+)/.exec(s);
      if (!m || childPid) return;
      childPid = Number(m[1]);
      expect(Number(m[2])).toBe(pid);
      process.kill(pid, sig);
    }, 60_000);
    expect(r.stdout, r.stderr).toContain(`child got ${sig}`);
    expect(r.stdout.match(/child got/g)).toHaveLength(1);
    expect({ status: r.status, signal: r.signal }).toEqual({ status: code, signal: null });
    expect(alive(childPid)).toBe(false);
  }, 90_000);

  it('a parent killed with SIGKILL leaves no orphan: the child stops as on SIGTERM', async () => {
    let childPid = 0;
    const r = await start([reexecChild], forced, (s, pid) => {
      const m = /child (\d+) of/.exec(s);
      if (!m || childPid) return;
      childPid = Number(m[1]);
      process.kill(pid, 'SIGKILL');
    }, 60_000);
    // The pipes close only when the child, which holds them too, has exited.
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout, r.stderr).toContain('child got SIGTERM');
    for (let i = 0; i < 50 && alive(childPid); i++) await sleep(100);
    expect(alive(childPid)).toBe(false);
  }, 90_000);

  const webgpu = testBackends().includes('webgpu');
  if (!webgpu) console.log('tests/cli/signals.test.ts: the webgpu CLI case is SKIPPED — webgpu is not in PUGD_TEST_BACKENDS');
  it.skipIf(!webgpu)('pugd train --backend webgpu, re-run for SwiftShader: SIGTERM to the pugd PID checkpoints and exits 130', async () => {
    const cwd = tmp('sigterm-webgpu');
    const out = join(cwd, 'run');
    const args = [cli, 'train', '--dataset', 'mnist', '--width', '2', '--batch-size', '8', '--limit-train', '64', '--limit-test', '8',
      '--epochs', '5', '--backend', 'webgpu', '--json', '--checkpoint-every', '1', '--out', out];
    let kids: number[] = [];
    const r = await start(args, { ...forced, PUGD_DATA: tmp('nodata') }, (s, pid) => {
      if (kids.length || !s.includes('"event":"checkpoint"')) return;
      kids = children(pid);
      process.kill(pid, 'SIGTERM');
    });
    const tail = `\nstdout: ${r.stdout.slice(-800)}\nstderr: ${r.stderr.slice(-800)}`;
    expect(kids.length, `the CLI did not re-run itself${tail}`).toBe(1);
    expect(r.status, tail).toBe(130);
    const ev = events(r.stdout);
    expect(ev.find((e) => e.event === 'signal')).toMatchObject({ signal: 'SIGTERM', action: 'stop-after-step' });
    const stopped = ev.at(-1);
    expect(stopped.event).toBe('stopped');
    const m = JSON.parse(readFileSync(stopped.last_checkpoint, 'utf8'));
    expect(m.step).toBe(stopped.steps);
    // 8 steps per epoch, 40 in all: it stopped long before the end.
    expect(m.step).toBeLessThan(40);
    expect(alive(kids[0])).toBe(false);
  }, 300_000);
});
