// Node only: finding a software WebGPU adapter (SwiftShader's Vulkan driver) on machines without a GPU,
// and getting it into the process that opens the GPU.
//
// Dawn (the `webgpu` package) reaches Vulkan through `libvulkan.so.1`, loaded with dlopen when the first
// adapter is requested. On a Linux box with no GPU there is either no loader or only lavapipe, which
// Dawn rejects (../shared/gpu/README.md). SwiftShader works; it ships in two places:
//   1. the npm package `@sparticuz/chromium` (pugd's devDependency; a project that installed pugd adds it
//      itself when it wants WebGPU without a GPU): `bin/swiftshader.tar.br`, a brotli tar with
//      `libvk_swiftshader.so`, the loader `libvulkan.so.1` and `vk_swiftshader_icd.json`. We unpack it
//      once into `node_modules/.cache/pugd-swiftshader/<version>/` (no root needed);
//   2. Debian's `chromium` package: /usr/lib/chromium.
// Using it takes `VK_ICD_FILENAMES=<dir>/vk_swiftshader_icd.json` and `<dir>` on `LD_LIBRARY_PATH`, and
// the dynamic loader reads LD_LIBRARY_PATH once, when a process starts. So the env must be set in a
// parent before it spawns the process that creates the GPU: vitest.config.ts does it before the test
// workers fork; a CLI calls `ensureSoftwareAdapterEnv()` first thing, which re-executes the script with
// the env set when it is missing.
//
// Not handled: platforms other than Linux x64 (macOS and Windows have their own GPU drivers and Dawn
// finds them), and choosing between several real GPUs (Dawn's `powerPreference` does that).
//
// Switches: PUGD_SOFTWARE_ADAPTER=0 never sets anything up; =1 uses SwiftShader even when a GPU driver
// seems present. A user who sets VK_ICD_FILENAMES / VK_DRIVER_FILES keeps them untouched.

import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';
import { spawn, spawnSync } from 'node:child_process';
import { constants as osConstants } from 'node:os';

/** Where a usable SwiftShader driver lives. */
export interface SoftwareAdapter {
  /** Directory holding libvulkan.so.1 and libvk_swiftshader.so. */
  dir: string;
  /** The ICD manifest to put in VK_ICD_FILENAMES. */
  icd: string;
  /** Where it came from, for messages: `@sparticuz/chromium 143.0.4` or `/usr/lib/chromium`. */
  source: string;
}

/** What `prepareSoftwareAdapterEnv` decided, with the reason (for logs and test output). */
export interface AdapterEnvDecision {
  /** Env vars to add to a child's environment (empty when nothing is needed or possible). */
  env: Record<string, string>;
  /** True when SwiftShader will be used by processes started with `env`. */
  software: boolean;
  /** One line: what was decided and why. */
  reason: string;
  adapter?: SoftwareAdapter;
}

const DEBIAN_DIR = '/usr/lib/chromium';
const MARKER = 'pugd-swiftshader';

/** Directories to look for node_modules in: the cwd and this module's location, each with their parents. */
function searchRoots(): string[] {
  const roots = new Set<string>();
  const addChain = (start: string) => {
    let d = resolve(start);
    for (let i = 0; i < 12; i++) {
      roots.add(d);
      const up = dirname(d);
      if (up === d) break;
      d = up;
    }
  };
  addChain(process.cwd());
  try {
    addChain(dirname(fileURLToPath(import.meta.url)));
  } catch {
    // import.meta.url is not a file URL (bundled into something unusual): the cwd chain is enough.
  }
  return [...roots];
}

/** The installed `@sparticuz/chromium` package directory, or null. */
export function findSparticuzPackage(): string | null {
  for (const r of searchRoots()) {
    const p = join(r, 'node_modules', '@sparticuz', 'chromium');
    if (existsSync(join(p, 'bin', 'swiftshader.tar.br'))) return p;
  }
  return null;
}

/**
 * Unpacks a ustar archive (the subset SwiftShader's tarball uses: regular files, no long names) into
 * `dir`. Returns the names written.
 */
export function untar(tar: Uint8Array, dir: string): string[] {
  const names: string[] = [];
  const text = (a: number, b: number) => Buffer.from(tar.subarray(a, b)).toString('latin1').replace(/\0.*$/s, '');
  let o = 0;
  while (o + 512 <= tar.length) {
    const h = tar.subarray(o, o + 512);
    if (h.every((b) => b === 0)) break;
    const name = text(o, o + 100);
    const prefix = text(o + 345, o + 500);
    const size = parseInt(text(o + 124, o + 136).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    const full = prefix ? `${prefix}/${name}` : name;
    if (!Number.isFinite(size) || size < 0) throw new Error(`untar: bad size field for '${full}'`);
    if (type === '0' || type === '\0') {
      // The archive is ours to trust less than nothing: never write outside `dir`.
      if (full.split('/').includes('..') || full.startsWith('/')) throw new Error(`untar: refusing path '${full}'`);
      const dest = join(dir, full);
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, tar.subarray(o + 512, o + 512 + size));
      names.push(full);
    } else if (type === '5') {
      mkdirSync(join(dir, full), { recursive: true });
    }
    o += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

/** Unpacks `@sparticuz/chromium`'s SwiftShader into node_modules/.cache once; returns it, or null. */
export function unpackSparticuzSwiftShader(pkgDir = findSparticuzPackage()): SoftwareAdapter | null {
  if (!pkgDir) return null;
  let version = 'unknown';
  try {
    version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version ?? version;
  } catch {
    // Version only names the cache folder.
  }
  // pkgDir = <root>/node_modules/@sparticuz/chromium → cache in <root>/node_modules/.cache.
  const nodeModules = dirname(dirname(pkgDir));
  const dir = join(nodeModules, '.cache', MARKER, version);
  const icd = join(dir, 'vk_swiftshader_icd.json');
  const source = `@sparticuz/chromium ${version}`;
  if (existsSync(icd) && existsSync(join(dir, 'libvulkan.so.1')) && existsSync(join(dir, 'libvk_swiftshader.so'))) {
    return { dir, icd, source };
  }
  // Unpack into a private temp folder, then rename: concurrent test runs never see half a driver.
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const tar = brotliDecompressSync(readFileSync(join(pkgDir, 'bin', 'swiftshader.tar.br')));
  const names = untar(tar, tmp);
  for (const need of ['libvulkan.so.1', 'libvk_swiftshader.so', 'vk_swiftshader_icd.json']) {
    if (!names.includes(need)) {
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(`SwiftShader: ${join(pkgDir, 'bin', 'swiftshader.tar.br')} lacks ${need} (has ${names.join(', ')})`);
    }
  }
  try {
    renameSync(tmp, dir);
  } catch {
    // Another process won the race; its copy is identical.
    rmSync(tmp, { recursive: true, force: true });
  }
  return { dir, icd, source };
}

/** Debian's chromium SwiftShader, if installed. */
export function findDebianSwiftShader(): SoftwareAdapter | null {
  const icd = join(DEBIAN_DIR, 'vk_swiftshader_icd.json');
  if (existsSync(icd) && existsSync(join(DEBIAN_DIR, 'libvulkan.so.1'))) return { dir: DEBIAN_DIR, icd, source: DEBIAN_DIR };
  return null;
}

/** SwiftShader from the pinned npm package (preferred: same version everywhere), else Debian's chromium. */
export function findSoftwareAdapter(): SoftwareAdapter | null {
  return unpackSparticuzSwiftShader() ?? findDebianSwiftShader();
}

/**
 * A Vulkan driver for real hardware installed system-wide (an ICD manifest other than lavapipe and
 * SwiftShader in the standard folders). Then we leave Vulkan alone and let Dawn find the GPU.
 */
export function systemGpuDriver(): string | null {
  const dirs = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d'];
  for (const d of dirs) {
    let files: string[] = [];
    try {
      files = readdirSync(d);
    } catch {
      continue;
    }
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      if (/lvp|lavapipe|swiftshader|virtio|mock/i.test(f)) continue;
      return join(d, f);
    }
  }
  return null;
}

/**
 * Decides the Vulkan environment for processes that will open the GPU, and returns the variables to
 * add. Pure except for unpacking SwiftShader into node_modules/.cache on first use.
 */
export function prepareSoftwareAdapterEnv(env: Record<string, string | undefined> = process.env): AdapterEnvDecision {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { env: {}, software: false, reason: `${process.platform}-${process.arch}: the system's GPU drivers are used` };
  }
  const mode = env.PUGD_SOFTWARE_ADAPTER;
  if (mode === '0') return { env: {}, software: false, reason: 'PUGD_SOFTWARE_ADAPTER=0: no software adapter set up' };
  if (mode !== '1') {
    if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES) {
      const already = (env.VK_ICD_FILENAMES ?? env.VK_DRIVER_FILES)!;
      return { env: {}, software: /swiftshader/i.test(already), reason: `Vulkan drivers already chosen by the environment (${already})` };
    }
    const gpu = systemGpuDriver();
    if (gpu) return { env: {}, software: false, reason: `GPU Vulkan driver found (${gpu}); SwiftShader not used` };
  }
  let adapter: SoftwareAdapter | null;
  try {
    adapter = findSoftwareAdapter();
  } catch (e) {
    return { env: {}, software: false, reason: `could not unpack SwiftShader: ${(e as Error).message}` };
  }
  if (!adapter) {
    return {
      env: {}, software: false,
      reason: 'no GPU driver and no SwiftShader found (`npm install @sparticuz/chromium` in your project, or install Debian\'s `chromium` package)',
    };
  }
  const ld = env.LD_LIBRARY_PATH ? `${adapter.dir}:${env.LD_LIBRARY_PATH}` : adapter.dir;
  return {
    env: { VK_ICD_FILENAMES: adapter.icd, LD_LIBRARY_PATH: ld },
    software: true,
    reason: `SwiftShader software adapter from ${adapter.source}`,
    adapter,
  };
}

/**
 * Sets the software-adapter variables in `process.env`, for children spawned later (test workers,
 * bench children). Does not help this process itself: its dynamic loader has already read
 * LD_LIBRARY_PATH. Returns the decision.
 */
export function applySoftwareAdapterEnv(): AdapterEnvDecision {
  const d = prepareSoftwareAdapterEnv(process.env);
  Object.assign(process.env, d.env);
  return d;
}

/** True when this process started with `adapter.dir` on LD_LIBRARY_PATH (so dlopen will find it). */
function startedWith(dir: string): boolean {
  return (process.env.LD_LIBRARY_PATH ?? '').split(':').includes(dir);
}

/** Set in a re-executed child: the PID of the parent that started it. */
const REEXEC = 'PUGD_SOFTWARE_ADAPTER_REEXEC';

/**
 * The decision, and the command that re-runs this process with its variables when that is needed; when
 * not, the variables go into process.env (and a re-run child starts watching its parent).
 */
function planReexec(): { d: AdapterEnvDecision; rerun: { file: string; args: string[]; env: NodeJS.ProcessEnv } | null } {
  const d = prepareSoftwareAdapterEnv(process.env);
  if (!d.software || !d.adapter || startedWith(d.adapter.dir) || process.env[REEXEC]) {
    Object.assign(process.env, d.env);
    watchParent();
    return { d, rerun: null };
  }
  return { d, rerun: { file: process.execPath, args: [...process.execArgv, ...process.argv.slice(1)], env: { ...process.env, ...d.env, [REEXEC]: String(process.pid) } } };
}

/** The exit status that passes on a child's: its own, or 128 + the number of the signal that killed it. */
function childStatus(status: number | null, signal: NodeJS.Signals | null): number {
  return status ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1);
}

let watchingParent = false;

/**
 * In a re-executed child: when the parent that started it is gone (killed with SIGKILL, which it cannot
 * forward), this process sends itself SIGTERM, so it stops as if told to (the CLI finishes its step and
 * checkpoints) instead of running on as an orphan. Polls the parent PID four times a second; the timer
 * does not keep the process alive.
 */
function watchParent(): void {
  const parent = Number(process.env[REEXEC]);
  // Only the direct child watches (a grandchild inherits the variable but has another parent).
  if (watchingParent || !Number.isInteger(parent) || parent <= 1 || process.ppid !== parent) return;
  watchingParent = true;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, 250);
  timer.unref();
}

/** Signals a re-executing parent passes on to its child (the child is in its own session, see below). */
// Spelled out (not NodeJS.Signals) so that the published types need no @types/node.
export const FORWARDED_SIGNALS: readonly ('SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGWINCH')[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGWINCH'];

/**
 * For CLIs and scripts: makes sure this very process can open the software adapter. When one is needed
 * and this process did not start with it on LD_LIBRARY_PATH, re-runs the same command (same Node
 * flags, same arguments, stdio inherited) with the variables set, and exits with the child's status.
 * Call it first thing, before anything imports `webgpu`. Returns the decision when no re-exec happened.
 *
 * This synchronous form blocks while the child runs, so a signal sent to this process's PID alone
 * (`kill PID`) does not reach the child; Ctrl-C in a terminal does (it goes to the whole process group).
 * Programs that must pass signals on use `reexecWithSoftwareAdapter()`, as the pugd CLI does.
 *
 * @example
 *   // a bench script
 *   ensureSoftwareAdapterEnv();
 *   await setBackend('auto');
 */
export function ensureSoftwareAdapterEnv(): AdapterEnvDecision {
  const { d, rerun: c } = planReexec();
  if (!c) return d;
  const r = spawnSync(c.file, c.args, { stdio: 'inherit', env: c.env });
  if (r.error) throw new Error(`ensureSoftwareAdapterEnv: could not re-run ${process.argv[1]}: ${r.error.message}`);
  process.exit(childStatus(r.status, r.signal));
}

/**
 * As `ensureSoftwareAdapterEnv()`, but this process stays responsive while the re-executed child runs:
 * SIGINT, SIGTERM, SIGHUP and SIGWINCH sent to it are passed on to the child, and the child stops
 * (SIGTERM to itself) when this process dies without passing anything on (SIGKILL), so it never runs
 * on as an orphan. The child runs in its own session, so a Ctrl-C in the terminal reaches it once, through
 * this process, and not twice (which the CLI would take as "quit at once"). Resolves with the decision
 * when no re-exec is needed; otherwise never resolves and exits with the child's status (128 + the
 * signal number when the child was killed by a signal).
 *
 * @example
 *   // cli/main.ts
 *   await reexecWithSoftwareAdapter();
 *   await setBackend('webgpu');
 */
export async function reexecWithSoftwareAdapter(): Promise<AdapterEnvDecision> {
  const { d, rerun: c } = planReexec();
  if (!c) return d;
  const child = spawn(c.file, c.args, { stdio: 'inherit', env: c.env, detached: true });
  const forwarders = FORWARDED_SIGNALS.map((sig) => {
    const f = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    };
    process.on(sig, f);
    return [sig, f] as const;
  });
  const end = await new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolveEnd, reject) => {
    child.once('error', (e) => reject(new Error(`reexecWithSoftwareAdapter: could not re-run ${process.argv[1]}: ${e.message}`)));
    child.once('exit', (status, signal) => resolveEnd({ status, signal }));
  }).finally(() => {
    for (const [sig, f] of forwarders) process.off(sig, f);
  });
  process.exit(childStatus(end.status, end.signal));
}
