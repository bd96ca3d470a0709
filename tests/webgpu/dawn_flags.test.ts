// Dawn flags reach Dawn: setBackend('webgpu', { dawnFlags }) and PUGD_DAWN_FLAGS are passed to
// dawn.node's create() and shown by the backend's info and `pugd info`; since a process holds one
// Dawn instance, asking for other flags later is an error naming both sets. Each case runs in a fresh
// Node process (the test worker's own Dawn instance already exists), on SwiftShader here.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testBackends } from '../harness.js';

const enabled = testBackends().includes('webgpu');
if (!enabled) console.log('tests/webgpu/dawn_flags.test.ts: SKIPPED — webgpu is not in PUGD_TEST_BACKENDS');

const entry = new URL('../../dist/index.js', import.meta.url).href;
const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const node = (script: string, env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import * as p from ${JSON.stringify(entry)};\n${script}`], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
};

describe.runIf(enabled)('Dawn flags', () => {
  it('setBackend passes dawnFlags to Dawn; the device computes; other flags later are refused', () => {
    const r = node(`
      p.setBackendLogger(null);
      await p.setBackend('webgpu', { dawnFlags: ['disable-dawn-features=timestamp_quantization', 'enable-dawn-features=skip_validation'] });
      console.log(JSON.stringify(p.getBackend().info.dawnFlags));
      const y = p.tensor([1, -2, 3], [3]).relu();
      console.log(JSON.stringify(Array.from(await y.toArray())));
      await p.setBackend('webgpu', { dawnFlags: ['disable-dawn-features=timestamp_quantization', 'enable-dawn-features=skip_validation'] });
      try { await p.setBackend('webgpu', { dawnFlags: ['backend=vulkan'] }); console.log('accepted'); } catch (e) { console.log(e.message); }
      try { await p.setBackend('webgpu', { dawnFlags: ['two words'] }); console.log('accepted'); } catch (e) { console.log(e.message); }`);
    expect(r.status, r.err).toBe(0);
    const [flags, values, other, bad] = r.out.split('\n');
    expect(JSON.parse(flags)).toEqual(['disable-dawn-features=timestamp_quantization', 'enable-dawn-features=skip_validation']);
    expect(JSON.parse(values)).toEqual([1, 0, 3]);
    expect(other).toMatch(/Dawn already runs in this process with flags \[disable-dawn-features=timestamp_quantization enable-dawn-features=skip_validation\]; it cannot be restarted with \[backend=vulkan\]/);
    expect(bad).toMatch(/dawnFlags must be an array of non-empty strings without spaces/);
  });

  it('PUGD_DAWN_FLAGS is the default, and pugd info shows the flags', () => {
    const flags = 'disable-dawn-features=timestamp_quantization enable-dawn-features=disable_robustness';
    const r = node(`p.setBackendLogger(null); await p.setBackend('webgpu'); console.log(JSON.stringify(p.getBackend().info.dawnFlags));`, { PUGD_DAWN_FLAGS: ` ${flags} ` });
    expect(r.status, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual(flags.split(' '));
    const info = spawnSync(process.execPath, [cli, 'info', '--backend', 'webgpu'], { encoding: 'utf8', env: { ...process.env, PUGD_DAWN_FLAGS: flags }, timeout: 120_000 });
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toContain(`dawn flags: ${flags} (PUGD_DAWN_FLAGS)`);
    const none = spawnSync(process.execPath, [cli, 'info', '--backend', 'webgpu'], { encoding: 'utf8', env: { ...process.env, PUGD_DAWN_FLAGS: '' }, timeout: 120_000 });
    expect(none.stdout).toContain('dawn flags: none (PUGD_DAWN_FLAGS)');
  });
});
