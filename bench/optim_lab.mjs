// Launcher of bench/optim_lab.ts: bundles it (esbuild), writes the benchmark parameter shapes, and
// starts it with a Vulkan driver for Dawn. Dawn needs the loader's directory on LD_LIBRARY_PATH when
// the process starts, hence the child process. Driver: PUGD_VK_ICD (an ICD json), else Chromium's
// SwiftShader (/usr/lib/chromium, Debian's chromium package).
//
// Usage: npm run build && node bench/optim_lab.mjs [validate|time]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resnet18Shapes, resnet20Shapes } from './shapes.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const icd = process.env.PUGD_VK_ICD ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!existsSync(icd)) {
  console.error(`optim_lab: no Vulkan ICD at ${icd}; install Debian's chromium (SwiftShader) or set PUGD_VK_ICD`);
  process.exit(2);
}
mkdirSync(join(root, 'build'), { recursive: true });
const out = join(root, 'build/optim_lab.mjs');
await build({
  entryPoints: [join(root, 'bench/optim_lab.ts')], bundle: true, platform: 'node', format: 'esm', target: 'es2022',
  external: ['webgpu'], outfile: out, logLevel: 'warning', absWorkingDir: root,
});
const pugd = await import(new URL('../dist/index.js', import.meta.url).href);
pugd.setBackendLogger(null);
await pugd.setBackend('wasm');
writeFileSync(join(root, 'build/optim_shapes.json'), JSON.stringify({ resnet20: resnet20Shapes(pugd), resnet18: resnet18Shapes() }));
const libDir = process.env.PUGD_VK_LIB ?? dirname(icd);
const r = spawnSync(process.execPath, [out, process.argv[2] ?? 'validate'], {
  stdio: 'inherit',
  env: { ...process.env, VK_ICD_FILENAMES: icd, LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') },
});
process.exit(r.status ?? 1);
