// One writer per run folder. `pugd train` (fresh or --resume) takes DIR/.pugd.lock before it writes
// anything there and holds it until it exits. The lock is created atomically: the holder's record
// (PID, host, start time, command) is written to a temporary file of this process and hard-linked to
// the lock name, which fails if a lock exists, so a lock file is never seen half-written.
//
// An existing lock is either live (its PID runs on this host, or it is another host's: pugd cannot
// tell) and the second process exits 2 naming the holder, or stale (this host, PID gone: the holder was
// killed). A stale lock is taken over, and reported: the takeover is serialised by a second exclusive
// file, and the dead holder's temporary files (name.tmp-PID) are removed with it, by this process,
// which is then the only writer.

import { closeSync, existsSync, linkSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InputError } from './args.js';
import { shownPath } from './recovery.js';

export const LOCK_NAME = '.pugd.lock';

interface Holder {
  pid: number;
  host: string;
  started: string;
  command: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process its parent has not reaped yet (a zombie, Linux) still answers signal 0.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function readHolder(path: string): Holder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Holder;
    return Number.isInteger(h?.pid) && typeof h.host === 'string' ? h : null;
  } catch {
    return null;
  }
}

/** Creates `path` holding `text`, atomically and only if it does not exist; false if it exists. */
function createExclusive(path: string, text: string): boolean {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

/** Removes the temporary files (name.tmp-PID) that process `pid` left anywhere under `dir`. */
export function removeTempFilesOf(dir: string, pid: number): string[] {
  const removed: string[] = [];
  if (!existsSync(dir)) return removed;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) removed.push(...removeTempFilesOf(p, pid));
    else if (e.name.endsWith(`.tmp-${pid}`)) {
      unlinkSync(p);
      removed.push(p);
    }
  }
  return removed;
}

export class RunLock {
  private held = true;
  private readonly onExit = () => this.release();
  constructor(readonly path: string) {
    // A process.exit (second Ctrl-C) skips `finally` blocks, not 'exit' handlers.
    process.on('exit', this.onExit);
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    process.off('exit', this.onExit);
    // Only our own lock: never one a later process took over.
    if (readHolder(this.path)?.pid === process.pid) unlinkSync(this.path);
  }
}

/**
 * Takes the lock of run folder `dir` (created if needed) or throws InputError naming its holder.
 * `note` reports a stale lock that was taken over.
 */
export function lockRunFolder(dir: string, note: (line: string) => void): RunLock {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_NAME);
  const me: Holder = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command: process.argv.slice(1).join(' ') };
  const record = `${JSON.stringify(me)}\n`;
  const shown = shownPath(path);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(path, record)) return new RunLock(path);
    const h = readHolder(path);
    if (!h) {
      if (!existsSync(path)) continue; // released meanwhile
      throw new InputError(`--out ${shownPath(dir)}: the lock file ${shown} is not a pugd lock (unreadable); if no pugd is writing to this folder, remove it: rm ${shown}`);
    }
    const who = `PID ${h.pid} on ${h.host}, started ${h.started}`;
    if (h.host !== me.host) {
      throw new InputError(`--out ${shownPath(dir)} is in use by another pugd (${who}: another host, so pugd cannot tell whether it still runs); if it does not, remove the lock: rm ${shown}`);
    }
    if (alive(h.pid)) {
      throw new InputError(`--out ${shownPath(dir)} is in use by another pugd (${who}: ${h.command}); wait for it to end or stop it (kill ${h.pid}); if that PID is no pugd, remove the lock: rm ${shown}`);
    }
    // Stale: take it over, one process at a time.
    const takeover = `${path}.takeover`;
    if (!createExclusive(takeover, record)) {
      const t = readHolder(takeover);
      if (t && !alive(t.pid)) throw new InputError(`--out ${shownPath(dir)}: a takeover of a stale lock by PID ${t.pid} was interrupted; if no pugd is writing to this folder, remove both: rm ${shown} ${shown}.takeover`);
      throw new InputError(`--out ${shownPath(dir)} is being taken over by another pugd (PID ${t?.pid ?? '?'}); wait for it to end`);
    }
    try {
      if (readHolder(path)?.pid === h.pid) unlinkSync(path);
      if (createExclusive(path, record)) {
        const removed = removeTempFilesOf(dir, h.pid);
        note(`pugd: note: --out ${shownPath(dir)} had a stale lock of ${who}, which no longer runs (killed?); this run took it over${removed.length ? ` and removed its ${removed.length} temporary file(s)` : ''}`);
        return new RunLock(path);
      }
    } finally {
      unlinkSync(takeover);
    }
  }
  throw new InputError(`--out ${shownPath(dir)}: could not take the lock ${shown} (other processes keep taking it)`);
}
