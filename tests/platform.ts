// The platform shim that lets one test body run in Node (vitest's forked workers) and in Chromium
// (vitest browser mode, tests/browser.setup.ts): environment switches, the project's paths, and
// reading files (fixtures, ../shared/pugd/vectors.json, datasets).
//
// - Node: process.env and node:fs, as before.
// - Browser: vitest.config.ts hands over the PUGD_* variables and the paths with `provide` (read here
//   with `inject`), and files are fetched from the vitest server's `/@fs/<absolute path>` route, which
//   serves only the folders listed in its `server.fs.allow` (the project, ../shared, PUGD_DATA).
//
// Reads are asynchronous everywhere (a browser cannot read synchronously), so suites read their files
// with top-level `await` or inside tests. Not handled: writing files, listing folders.

import { inject } from 'vitest';

/** What vitest.config.ts provides to browser tests (see its `provide`). */
export interface PlatformInfo {
  env: Record<string, string>;
  projectRoot: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    pugdPlatform: PlatformInfo;
  }
}

type NodeProcess = { env: Record<string, string | undefined>; versions?: { node?: string } };
const proc = (globalThis as { process?: NodeProcess }).process;

/** True inside Chromium (vitest browser mode), false in Node. */
export const isBrowser = !proc?.versions?.node;

const provided: PlatformInfo | undefined = isBrowser ? inject('pugdPlatform') : undefined;
if (isBrowser && !provided) throw new Error('tests/platform.ts: vitest.config.ts did not provide pugdPlatform to the browser project');

/** An environment switch (PUGD_*): process.env in Node, the values vitest.config.ts passed on in browsers. */
export function env(name: string): string | undefined {
  return isBrowser ? provided!.env[name] : proc!.env[name];
}

/** Joins path segments with '/', resolving '.' and '..' (POSIX paths; no node:path in browsers). */
export function joinPath(...parts: string[]): string {
  const abs = parts[0]?.startsWith('/');
  const out: string[] = [];
  for (const seg of parts.join('/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `${abs ? '/' : ''}${out.join('/')}`;
}

/** The checkout's root folder (absolute). */
export const projectRoot: string = isBrowser
  ? provided!.projectRoot
  : joinPath(decodeURIComponent(new URL('..', import.meta.url).pathname));

/** The read-only reference folder beside the checkout. */
export const sharedDir = joinPath(projectRoot, '../shared');

/** A path relative to the project root made absolute; absolute paths pass through. */
export function projectPath(p: string): string {
  return p.startsWith('/') ? joinPath(p) : joinPath(projectRoot, p);
}

const nodeFs = async () => (await import(/* @vite-ignore */ 'node:fs' as string)) as typeof import('node:fs');

async function fetchFile(abs: string): Promise<Response> {
  const url = `/@fs${abs.split('/').map(encodeURIComponent).join('/')}`;
  const res = await fetch(url);
  if (!res.ok) {
    throw new Error(`${abs}: could not be read from the vitest server (${res.status} ${res.statusText}); ` +
      'it serves only the folders in server.fs.allow of vitest.config.ts (the project, ../shared and PUGD_DATA)');
  }
  return res;
}

/** True when the file exists (and, in a browser, the vitest server may serve it). */
export async function fileExists(p: string): Promise<boolean> {
  const abs = projectPath(p);
  if (!isBrowser) return (await nodeFs()).existsSync(abs);
  const res = await fetch(`/@fs${abs.split('/').map(encodeURIComponent).join('/')}`, { method: 'HEAD' });
  return res.ok;
}

/** A file's bytes. */
export async function readBytes(p: string): Promise<Uint8Array> {
  const abs = projectPath(p);
  if (!isBrowser) {
    const b = (await nodeFs()).readFileSync(abs);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return new Uint8Array(await (await fetchFile(abs)).arrayBuffer());
}

/** A UTF-8 text file. */
export async function readText(p: string): Promise<string> {
  return new TextDecoder().decode(await readBytes(p));
}

/** A JSON file. */
export async function readJson<T = unknown>(p: string): Promise<T> {
  return JSON.parse(await readText(p)) as T;
}

// Byte helpers for suites written against Node's Buffer (which browsers lack).

/** Index of `pattern` in `b` at or after `from`, or -1. */
export function indexOfBytes(b: Uint8Array, pattern: ArrayLike<number>, from = 0): number {
  outer: for (let i = from; i + pattern.length <= b.length; i++) {
    for (let k = 0; k < pattern.length; k++) if (b[i + k] !== pattern[k]) continue outer;
    return i;
  }
  return -1;
}

/** The arrays one after the other, in a new array. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** True when both hold the same bytes. */
export function bytesEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
