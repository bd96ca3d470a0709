// Write errors while checkpointing (built CLI, WASM, a few MNIST images). A full disk is real here:
// the temporary file a checkpoint write will use is made a symlink to /dev/full, whose writes fail
// with ENOSPC from the kernel; another error is a folder in the way (EISDIR). Either way the run
// stops with exit 1 naming the file and the last good checkpoint, leaves no temporary file and no
// tensor file without its manifest, and the advised resume continues exactly.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `pugd-${p}-`));
const env = { ...process.env, PUGD_DATA: tmp('nodata') };
const args = (out: string) => ['train', '--dataset', 'mnist', '--width', '2', '--batch-size', '16', '--limit-train', '160', '--limit-test', '32', '--epochs', '1', '--backend', 'wasm', '--log-steps', '--checkpoint-every', '1', '--out', out];
const pugd = (a: string[], cwd: string) => spawnSync(process.execPath, [cli, ...a], { encoding: 'utf8', cwd, env, timeout: 120_000 });
const jsonl = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

/** Starts a run and, before it gets far, puts `inject(dir, pid)` in place; its exit code and stderr. */
function runWith(cwd: string, out: string, inject: (checkpoints: string, pid: number) => void) {
  const child = spawn(process.execPath, [cli, ...args(out)], { cwd, env });
  mkdirSync(join(cwd, out, 'checkpoints'), { recursive: true });
  inject(join(cwd, out, 'checkpoints'), child.pid!);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise<{ code: number | null; stderr: string }>((res) => child.on('exit', (code) => res({ code, stderr })));
}
const leftovers = (dir: string) => [...readdirSync(dir), ...readdirSync(join(dir, 'checkpoints')).map((f) => `checkpoints/${f}`)].filter((f) => f.includes('.tmp-'));

describe('write errors while checkpointing', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tmp('write-errors');
    expect(pugd(args('full'), cwd).status).toBe(0);
  });

  it('a full disk (ENOSPC) names the file and the last good checkpoint, leaves nothing half-written, and the advised resume continues exactly', async () => {
    const r = await runWith(cwd, 'enospc', (ck, pid) => symlinkSync('/dev/full', join(ck, `step-000005.optim.safetensors.tmp-${pid}`)));
    expect(r.code, r.stderr).toBe(1);
    const ck = join(cwd, 'enospc/checkpoints');
    const last = r.stderr.trim().split('\n').at(-1)!;
    expect(last).toBe(
      `pugd: error: cannot write ${ck}/step-000005.optim.safetensors (ENOSPC: no space left on device, write); training stopped at epoch 1, step 5; ` +
        `the last good checkpoint is ${ck}/step-000004.json; once the file can be written (free space, permissions), continue with: pugd train --resume enospc/checkpoints/step-000004.json`,
    );
    expect(leftovers(join(cwd, 'enospc'))).toEqual([]);
    expect(readdirSync(ck).filter((f) => f.startsWith('step-000005'))).toEqual([]);
    expect(existsSync(join(cwd, 'enospc/.pugd.lock'))).toBe(false);
    const resumed = pugd(last.split(': pugd ')[1].split(' '), cwd);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(jsonl(join(cwd, 'enospc/steps.jsonl'))).toEqual(jsonl(join(cwd, 'full/steps.jsonl')));
  });

  it('another write error (a folder in the way of the manifest) likewise: no orphan tensor files of that step', async () => {
    let injected = '';
    const r = await runWith(cwd, 'eisdir', (ck, pid) => {
      injected = `step-000003.json.tmp-${pid}`;
      mkdirSync(join(ck, injected));
    });
    expect(r.code, r.stderr).toBe(1);
    const ck = join(cwd, 'eisdir/checkpoints');
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^pugd: error: cannot write ${ck}/step-000003\\.json \\(EISDIR: .*\\); training stopped at epoch 1, step 3; the last good checkpoint is ${ck}/step-000002\\.json;`));
    // Only the test's own folder is left; the step's tensor files went with the failed write.
    expect(leftovers(join(cwd, 'eisdir'))).toEqual([`checkpoints/${injected}`]);
    expect(readdirSync(ck).filter((f) => f.startsWith('step-000003') && !f.includes('.tmp-'))).toEqual([]);
    expect(pugd(['eval', '--checkpoint', 'eisdir', '--limit-test', '16'], cwd).status).toBe(0);
  });
});
