// `pugd eval` and `pugd train --resume` of a finished run, as documented (issue 15 item 4, issue 16
// item 6): eval tests on the images the run tested on unless told otherwise and says when the set
// differs; it accepts the run's final model.safetensors; and a WebGPU run is resumed and evaluated
// without --backend even where the adapter needs the SwiftShader re-run.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testBackends } from '../harness.js';
import { prepareSoftwareAdapterEnv } from '../../engine/backends/webgpu_node_env.js';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `pugd-${p}-`));
const baseEnv: NodeJS.ProcessEnv = { ...process.env, PUGD_DATA: tmp('nodata') };

function pugd(args: string[], env = baseEnv) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env, timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const jsonl = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const small = ['--dataset', 'mnist', '--width', '2', '--batch-size', '16'];

describe('pugd eval of a finished WASM run', () => {
  const out = join(tmp('eval'), 'run');
  let last: Record<string, number>;
  beforeAll(() => {
    const r = pugd(['train', ...small, '--limit-train', '64', '--limit-test', '48', '--epochs', '1', '--backend', 'wasm', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    last = jsonl(join(out, 'metrics.jsonl')).at(-1);
  }, 300_000);

  it('tests on the run\'s --limit-test images by default, reproducing its figures, and says so', () => {
    const r = pugd(['eval', '--checkpoint', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('testing on the first 48 test images, as the run did');
    expect(r.stdout).toMatch(/resnet20 after epoch 1 \(step 4\) on mnist test \(48 images\)/);
    const j = JSON.parse(pugd(['eval', '--checkpoint', out, '--json']).stdout);
    expect([j.images, j.same_test_set, j.run_test_images]).toEqual([48, true, 48]);
    expect(j.test_acc).toBe(last.test_acc);
    expect(j.test_loss).toBeCloseTo(last.test_loss, 5);
  }, 120_000);

  it('accepts the run\'s final model.safetensors (same weights as the last checkpoint here)', () => {
    const r = pugd(['eval', '--checkpoint', join(out, 'model.safetensors'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect([j.checkpoint, j.epoch, j.step, j.images]).toEqual([join(out, 'model.safetensors'), 1, 4, 48]);
    expect(j.test_acc).toBe(last.test_acc);
    expect(j.test_loss).toBeCloseTo(last.test_loss, 5);
    expect(pugd(['eval', '--checkpoint', join(out, 'model.safetensors')]).stdout).toMatch(/resnet20 final weights \(epoch 1, step 4\) on mnist test \(48 images\)/);
  }, 120_000);

  it('another --limit-test is evaluated, with a note that the set differs', () => {
    const r = pugd(['eval', '--checkpoint', out, '--limit-test', '32']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('this test set differs from the one the run measured (32 images, the run tested on 48)');
    const j = JSON.parse(pugd(['eval', '--checkpoint', out, '--limit-test', '32', '--json']).stdout);
    expect([j.images, j.same_test_set]).toEqual([32, false]);
    const both = pugd(['eval', '--checkpoint', out, '--limit-test', '32', '--all-test']);
    expect([both.code, both.stderr.trim()]).toEqual([2, 'pugd: error: --all-test and --limit-test exclude each other']);
  }, 120_000);

  it('a final weights file cannot be resumed, and the message names only commands that exist', () => {
    const r = pugd(['train', '--resume', join(out, 'model.safetensors')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot be resumed: resume the run folder, or evaluate them with pugd eval --checkpoint');
    expect(r.stderr).not.toContain('--init-weights');
  }, 60_000);
});

// The environment of a shell on this machine: no Vulkan driver chosen, SwiftShader not on the loader path.
const bare: NodeJS.ProcessEnv = { ...baseEnv, LD_LIBRARY_PATH: '' };
for (const k of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'PUGD_SOFTWARE_ADAPTER', 'PUGD_SOFTWARE_ADAPTER_REEXEC']) delete bare[k];
const webgpu = testBackends().includes('webgpu') && prepareSoftwareAdapterEnv(bare).env.VK_ICD_FILENAMES !== undefined;
if (!webgpu) console.log('tests/cli/resume_eval.test.ts: the WebGPU re-run case is SKIPPED — webgpu is not tested here or needs no SwiftShader re-run');

describe.skipIf(!webgpu)('a WebGPU run on SwiftShader, from a shell without the adapter set up', () => {
  it('is evaluated and resumed without --backend: both set up the adapter and use webgpu', () => {
    const out = join(tmp('webgpu-resume'), 'run');
    const t = pugd(['train', '--dataset', 'mnist', '--width', '2', '--batch-size', '8', '--limit-train', '16', '--limit-test', '8', '--epochs', '1', '--backend', 'webgpu', '--out', out, '--json'], bare);
    expect(t.code, t.stderr).toBe(0);
    const ev = pugd(['eval', '--checkpoint', out, '--json'], bare);
    expect(ev.code, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout)).toMatchObject({ backend: 'webgpu', images: 8, step: 2 });
    const r = pugd(['train', '--resume', out, '--epochs', '2', '--json'], bare);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ event: 'start', backend: 'webgpu' });
    expect(events.at(-1)).toMatchObject({ event: 'done', steps: 4 });
  }, 300_000);
});
