// Finding a Chromium for the browser suites, the training-page test and the browser benchmark
// (Node only). Playwright cannot download its own browsers on this project's machines, so we hand it
// an executable, looked up in this order:
//   1. CHROME_PATH (must exist: a wrong path is an error, not a silent fallback);
//   2. Debian's `chromium` package (/usr/bin/chromium; `.ci/run` installs it when apt-get is there);
//   3. the devDependency `@sparticuz/chromium`, whose executablePath() unpacks a headless Chromium to
//      /tmp/chromium (works on Linux x64 without root; brings its own SwiftShader for WebGPU).
// PUGD_SKIP_BROWSER=1 is the explicit opt-out; without it, finding nothing is an error that says how to
// get a browser.
//
// Also: the launch flags every caller uses (WebGPU on SwiftShader where there is no GPU; flags measured
// in ../shared/gpu/README.md), and the COOP/COEP headers that make a page cross-origin isolated.
//
// Not handled: Chrome channels installed by Playwright itself, macOS/Windows install locations (set
// CHROME_PATH there).

import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** Where the browser came from, for messages and test output. */
export interface ChromiumLocation {
  path: string;
  source: 'CHROME_PATH' | 'debian' | '@sparticuz/chromium';
}

/** Flags for headless Chromium here: WebGPU on (SwiftShader without a GPU), no sandbox as root, quiet. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Headers that make a page cross-origin isolated (SharedArrayBuffer, so WASM threads). */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

export const HOW_TO_GET_CHROMIUM =
  'Get one of: `apt-get install -y chromium` (Debian/Ubuntu; .ci/run does this), `npm install` (brings the ' +
  'devDependency @sparticuz/chromium, Linux x64), or set CHROME_PATH to a Chromium/Chrome executable. ' +
  'To run without the browser suites, set PUGD_SKIP_BROWSER=1 (they are then reported as skipped).';

/** True when the user opted out of everything that needs a browser. */
export function browserSkipped(): boolean {
  return process.env.PUGD_SKIP_BROWSER === '1';
}

/**
 * Finds a Chromium executable (see the header for the order). Throws an error naming what was tried
 * and how to get a browser.
 *
 * @example
 *   const { path } = await findChromium();   // hand `path` to Playwright's executablePath
 */
export async function findChromium(): Promise<ChromiumLocation> {
  const env = process.env.CHROME_PATH;
  if (env) {
    if (!existsSync(env)) throw new Error(`CHROME_PATH=${env}: no such file. ${HOW_TO_GET_CHROMIUM}`);
    return checked({ path: env, source: 'CHROME_PATH' });
  }
  if (existsSync(DEBIAN_CHROMIUM)) return checked({ path: DEBIAN_CHROMIUM, source: 'debian' });
  let why: string;
  try {
    const m = (await import('@sparticuz/chromium')) as unknown as { default: { executablePath(): Promise<string> } };
    const p = await m.default.executablePath();
    if (p && existsSync(p)) return checked({ path: p, source: '@sparticuz/chromium' });
    why = `@sparticuz/chromium returned ${JSON.stringify(p)}, which does not exist`;
  } catch (e) {
    why = `@sparticuz/chromium could not be loaded or unpacked (${(e as Error).message})`;
  }
  throw new Error(`no Chromium found: CHROME_PATH is unset, ${DEBIAN_CHROMIUM} is missing and ${why}. ${HOW_TO_GET_CHROMIUM}`);
}

/**
 * Runs `<path> --version`, so a binary that cannot start (typically @sparticuz/chromium's on a machine
 * without libnss3, which Debian's chromium package brings) fails here with its own message, not later
 * as a browser launch timeout.
 */
function checked(loc: ChromiumLocation): ChromiumLocation {
  const r = spawnSync(loc.path, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) {
    const out = `${r.error?.message ?? ''} ${r.stderr ?? ''}`.trim().slice(0, 600);
    throw new Error(`Chromium at ${loc.path} (${loc.source}) does not start: ${out || `exit ${r.status ?? r.signal}`}. ${HOW_TO_GET_CHROMIUM}`);
  }
  return loc;
}
