// Checkpoints on disk (Node). One checkpoint = three files with a common stem in OUT/checkpoints/:
//   step-000150.safetensors        model weights, PyTorch names, F32 (+ I64 num_batches_tracked)
//   step-000150.optim.safetensors  the optimizer's tensors (momentum buffers, …), when it has any
//   step-000150.json               the manifest: run config, epoch/step, optimizer and scheduler scalars,
//                                  RNG and loader state, metrics so far, and each file's size + sha256
// Every file is written to a temporary name, fsynced and renamed; the manifest goes last and is the
// commit record: a checkpoint exists only once its manifest does, and the manifest's checksums catch
// a tensor file damaged later. A kill at any moment therefore leaves the previous checkpoint whole.
// Older checkpoints are deleted only after a newer one is committed (the last `keep` stay).

import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Tensor } from '../engine/tensor.js';
import { tensor } from '../engine/create.js';
import { checkManifest, SchemaError } from './manifest_schema.js';
import { encodeSafetensors, decodeSafetensors, toFloat32, type SafetensorsInput } from '../engine/io/safetensors.js';

export const CHECKPOINT_FORMAT = 'pugd-checkpoint';
export const CHECKPOINT_VERSION = 2;
/** Versions this pugd reads: 1 lacks the manifest's own checksum (the schema is still checked). */
const READABLE_VERSIONS = [1, 2];

/** A file of a checkpoint, as recorded in its manifest. */
export interface FileRecord {
  path: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  created: string;
  /** Epochs fully done. */
  epoch: number;
  /** Optimizer steps done since the start of training. */
  step: number;
  /** Batches of the current (unfinished) epoch already trained; 0 at an epoch boundary. */
  batchInEpoch: number;
  config: Record<string, unknown>;
  files: { model: FileRecord; optimizer?: FileRecord };
  /** Optimizer state with tensors replaced by {"$tensor": key into the optimizer file}. */
  optimizer: unknown;
  scheduler: unknown;
  rng: unknown;
  loader: unknown;
  /** Anything else the trainer wants back (epoch metrics so far, running sums). */
  extra: Record<string, unknown>;
  /** sha256 of this manifest as written without this field (JSON.stringify(…, null, 1)); version ≥ 2. */
  checksum?: string;
}

const manifestText = (m: object) => JSON.stringify(m, null, 1);

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * A file of the run could not be written (a full disk, a read-only or missing folder): names the file.
 * The trainer adds where training stopped and the newest checkpoint on disk (`lastGood`).
 */
export class WriteError extends Error {
  lastGood?: string | null;
  where?: string;
  constructor(readonly file: string, readonly code: string | undefined, cause: string) {
    super(`cannot write ${file} (${cause})`);
    this.name = 'WriteError';
  }
}

/** Runs `fn`, turning a file-system error into a WriteError naming `path`. */
export function writing<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof WriteError) throw e;
    throw new WriteError(path, (e as NodeJS.ErrnoException).code, (e as Error).message);
  }
}

/**
 * Writes `bytes` to `path` so that readers see either the old file or the complete new one: write a
 * temporary file beside it (named for this process), fsync, rename over, fsync the directory. On any
 * error the temporary file is removed and a WriteError names `path`.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const tmp = `${path}.tmp-${process.pid}`;
  writing(path, () => {
    try {
      const fd = openSync(tmp, 'w');
      try {
        let off = 0;
        while (off < data.length) off += writeSync(fd, data, off, data.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        // not created, or not a file of ours (a folder in the way)
      }
      throw e;
    }
  });
  try {
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  }
}

/**
 * Splits a state object into JSON-safe data and tensors: every Tensor (or Float32Array) becomes
 * {"$tensor": "<path>"} and its values go to `tensors` under that path.
 */
export async function splitTensors(state: unknown, tensors: Record<string, SafetensorsInput>, path = 'state'): Promise<unknown> {
  if (state instanceof Tensor) {
    if (state.dtype !== 'f32') {
      tensors[path] = { dtype: 'I32', shape: state.shape, data: (await state.data()) as Int32Array };
    } else {
      tensors[path] = { shape: state.shape, data: await state.toArray() };
    }
    return { $tensor: path };
  }
  if (state instanceof Float32Array) {
    tensors[path] = { shape: [state.length], data: state };
    return { $tensor: path, host: true };
  }
  if (Array.isArray(state)) return Promise.all(state.map((v, i) => splitTensors(v, tensors, `${path}.${i}`)));
  if (state && typeof state === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(state)) out[k] = await splitTensors(v, tensors, `${path}.${k}`);
    return out;
  }
  if (typeof state === 'number' && !Number.isFinite(state)) return { $number: String(state) };
  return state;
}

/** Inverse of `splitTensors`: {"$tensor"} entries become device tensors (or Float32Arrays). */
export function joinTensors(state: unknown, file: ReturnType<typeof decodeSafetensors> | null, source: string): unknown {
  if (Array.isArray(state)) return state.map((v) => joinTensors(v, file, source));
  if (state && typeof state === 'object') {
    const o = state as Record<string, unknown>;
    if (typeof o.$tensor === 'string') {
      const t = file?.tensors[o.$tensor];
      if (!t) throw new Error(`${source}: optimizer tensor '${o.$tensor}' is missing from the optimizer file`);
      if (o.host) return toFloat32(t, o.$tensor);
      if (t.dtype === 'I32') return tensor(new Int32Array(t.bytes.slice().buffer), t.shape, { dtype: 'i32' });
      return tensor(toFloat32(t, o.$tensor), t.shape);
    }
    if (typeof o.$number === 'string' && Object.keys(o).length === 1) return Number(o.$number);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = joinTensors(v, file, source);
    return out;
  }
  return state;
}

export interface SaveInput {
  dir: string;
  epoch: number;
  step: number;
  batchInEpoch: number;
  config: Record<string, unknown>;
  modelBytes: Uint8Array;
  optimizer: unknown;
  scheduler: unknown;
  rng: unknown;
  loader: unknown;
  extra?: Record<string, unknown>;
  /** Checkpoints to keep (newest first); older ones are deleted after this one is committed. */
  keep?: number;
}

const stemOf = (step: number) => `step-${String(step).padStart(6, '0')}`;

/** Writes one checkpoint atomically (see the header) and returns its manifest path. */
export async function saveCheckpoint(s: SaveInput): Promise<string> {
  writing(s.dir, () => mkdirSync(s.dir, { recursive: true }));
  // A failed write removes its own temporary file (writeFileAtomic); another process's are not ours to
  // touch (a killed holder's go when its stale run lock is taken over, runlock.ts).
  const stem = stemOf(s.step);
  const committed = existsSync(join(s.dir, `${stem}.json`));
  try {
    return await writeCheckpointFiles(s, stem);
  } catch (e) {
    // No tensor file without its manifest: remove what this write renamed into place (unless a
    // committed checkpoint of the same step owns those names).
    if (!committed && !existsSync(join(s.dir, `${stem}.json`))) {
      for (const f of [`${stem}.safetensors`, `${stem}.optim.safetensors`]) {
        try {
          unlinkSync(join(s.dir, f));
        } catch {
          // not written
        }
      }
    }
    throw e;
  }
}

async function writeCheckpointFiles(s: SaveInput, stem: string): Promise<string> {
  const optTensors: Record<string, SafetensorsInput> = {};
  const optimizer = await splitTensors(s.optimizer, optTensors, 'optimizer');
  const scheduler = await splitTensors(s.scheduler, optTensors, 'scheduler');
  const modelPath = `${stem}.safetensors`;
  writeFileAtomic(join(s.dir, modelPath), s.modelBytes);
  const files: Manifest['files'] = { model: { path: modelPath, bytes: s.modelBytes.length, sha256: sha256(s.modelBytes) } };
  if (Object.keys(optTensors).length) {
    const ob = encodeSafetensors(optTensors, { format: CHECKPOINT_FORMAT });
    const p = `${stem}.optim.safetensors`;
    writeFileAtomic(join(s.dir, p), ob);
    files.optimizer = { path: p, bytes: ob.length, sha256: sha256(ob) };
  }
  const manifest: Manifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    created: new Date().toISOString(),
    epoch: s.epoch,
    step: s.step,
    batchInEpoch: s.batchInEpoch,
    config: s.config,
    files,
    optimizer,
    scheduler,
    rng: s.rng,
    loader: s.loader,
    extra: s.extra ?? {},
  };
  const mpath = join(s.dir, `${stem}.json`);
  writeFileAtomic(mpath, `${manifestText({ ...manifest, checksum: sha256(new TextEncoder().encode(manifestText(manifest))) })}\n`);
  pruneCheckpoints(s.dir, s.keep ?? 2);
  return mpath;
}

/** Manifests in `dir`, newest step first. */
export function listCheckpoints(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^step-\d+\.json$/.test(f))
    .sort()
    .reverse()
    .map((f) => join(dir, f));
}

/** The files of the checkpoint whose manifest is `manifest` (those that exist). */
function checkpointFiles(manifest: string): string[] {
  const stem = basename(manifest, '.json');
  // The manifest first: a checkpoint without its manifest is no checkpoint, never a broken one.
  return [`${stem}.json`, `${stem}.safetensors`, `${stem}.optim.safetensors`].map((f) => join(dirname(manifest), f));
}

/** Moves a checkpoint (manifest first) into folder `to`, where it still loads but is never found by --resume DIR. */
export function moveCheckpoint(manifest: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const f of checkpointFiles(manifest)) if (existsSync(f)) renameSync(f, join(to, basename(f)));
}

function pruneCheckpoints(dir: string, keep: number): void {
  for (const m of listCheckpoints(dir).slice(Math.max(1, keep))) {
    for (const f of checkpointFiles(m)) {
      try {
        unlinkSync(f);
      } catch {
        // already gone
      }
    }
  }
}

/** A checkpoint passed over because it is damaged: its manifest and why. */
export interface SkippedCheckpoint {
  path: string;
  reason: string;
}

export interface LoadedCheckpoint {
  manifestPath: string;
  manifest: Manifest;
  /** Newer checkpoints of the folder that were damaged, newest first (the one loaded is the newest intact). */
  skipped: SkippedCheckpoint[];
  modelBytes: Uint8Array;
  /** Optimizer state with tensors restored on the current backend. */
  optimizer: unknown;
  scheduler: unknown;
}

/**
 * Finds the manifest a --resume / --checkpoint argument means: a manifest, a checkpoint's
 * .safetensors, a checkpoints folder or a run's --out folder (its newest checkpoint).
 */
export function resolveCheckpoint(arg: string): string {
  return candidateCheckpoints(arg)[0];
}

/** The manifests `arg` may mean: a folder's, newest first; else the one it names. */
function candidateCheckpoints(arg: string): string[] {
  const p = resolve(arg);
  if (!existsSync(p)) throw new Error(`checkpoint '${arg}' does not exist`);
  if (statSync(p).isDirectory()) {
    const found = listCheckpoints(p).concat(listCheckpoints(join(p, 'checkpoints')));
    if (found.length === 0) throw new Error(`checkpoint '${arg}': the folder holds no checkpoint (no step-*.json manifest in it or in its checkpoints/)`);
    return found.sort((a, b) => basename(b).localeCompare(basename(a)));
  }
  return [resolveFile(arg, p)];
}

function resolveFile(arg: string, p: string): string {
  if (p.endsWith('.json')) return p;
  const m = /^(.*?)(\.optim)?\.safetensors$/.exec(p);
  if (m && existsSync(`${m[1]}.json`)) return `${m[1]}.json`;
  if (m) throw new Error(`checkpoint '${arg}': no manifest ${basename(m[1])}.json beside it (a run's final weights have no optimizer state and cannot be resumed: resume the run folder, or evaluate them with pugd eval --checkpoint)`);
  throw new Error(`checkpoint '${arg}': expected a step-*.json manifest, its .safetensors, or a run folder`);
}

function readChecked(dir: string, rec: FileRecord, what: string, source: string): Uint8Array {
  const p = join(dir, rec.path);
  if (!existsSync(p)) throw new Error(`${source}: the ${what} file ${rec.path} is missing`);
  const b = new Uint8Array(readFileSync(p));
  if (b.length !== rec.bytes) throw new Error(`${source}: the ${what} file ${rec.path} has ${b.length} bytes, the manifest says ${rec.bytes} (truncated or replaced)`);
  if (sha256(b) !== rec.sha256) throw new Error(`${source}: the ${what} file ${rec.path} is corrupt (sha256 differs from the manifest)`);
  return b;
}

/**
 * Finds and checks a checkpoint's manifest (no backend needed). For a folder: its newest intact
 * checkpoint (manifest and tensor files verified), with the damaged newer ones in `skipped`.
 */
export function readManifest(arg: string): { manifestPath: string; manifest: Manifest; skipped: SkippedCheckpoint[] } {
  const all = candidateCheckpoints(arg);
  if (all.length === 1 && !statSync(resolve(arg)).isDirectory()) return { ...parseManifest(all[0]), skipped: [] };
  const skipped: SkippedCheckpoint[] = [];
  for (const m of all) {
    try {
      const r = parseManifest(m);
      const dir = dirname(m);
      readChecked(dir, r.manifest.files.model, 'model', `checkpoint ${m}`);
      if (r.manifest.files.optimizer) readChecked(dir, r.manifest.files.optimizer, 'optimizer', `checkpoint ${m}`);
      return { ...r, skipped };
    } catch (e) {
      skipped.push({ path: m, reason: (e as Error).message });
    }
  }
  if (skipped.length === 1) throw new Error(skipped[0].reason);
  throw new Error(`checkpoint '${arg}': none of its ${skipped.length} checkpoints is intact; the newest: ${skipped[0].reason}`);
}

/** What to tell the user when the newest checkpoint of a folder was passed over. */
export function fallbackNote(ck: { manifestPath: string; skipped: SkippedCheckpoint[] }): string | null {
  if (!ck.skipped.length) return null;
  const why = ck.skipped.map((s) => `${s.path}: ${s.reason.replace(`checkpoint ${s.path}: `, '')}`).join('; ');
  return `pugd: note: the newest checkpoint is damaged (${why}); using the newest intact one, ${ck.manifestPath}`;
}

function parseManifest(manifestPath: string): { manifestPath: string; manifest: Manifest } {
  const source = `checkpoint ${manifestPath}`;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch (e) {
    throw new Error(`${source}: the manifest is not valid JSON (${(e as Error).message})`);
  }
  if (!manifest || manifest.format !== CHECKPOINT_FORMAT) throw new Error(`${source}: not a pugd checkpoint manifest (format '${String(manifest?.format)}')`);
  if (!READABLE_VERSIONS.includes(manifest.version)) throw new Error(`${source}: checkpoint version ${manifest.version} is not supported (this pugd reads versions ${READABLE_VERSIONS.join(' and ')})`);
  if (manifest.version >= 2) {
    const { checksum, ...rest } = manifest;
    if (typeof checksum !== 'string') throw new Error(`${source}: field 'checksum' is missing (every version ${manifest.version} manifest has its own sha256)`);
    if (sha256(new TextEncoder().encode(manifestText(rest))) !== checksum) {
      throw new Error(`${source}: field 'checksum' does not match the manifest's content: it was changed after it was written (edited or damaged)`);
    }
  }
  try {
    checkManifest(manifest as unknown as Record<string, unknown>, basename(manifestPath, '.json'));
  } catch (e) {
    if (e instanceof SchemaError) throw new Error(`${source}: ${e.message}`);
    throw e;
  }
  return { manifestPath, manifest };
}

/**
 * Reads and verifies a checkpoint; optimizer tensors are created on the current backend. When the
 * newest checkpoint of a folder was damaged, `note` (stderr by default) says so.
 */
export function loadCheckpoint(arg: string, note: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): LoadedCheckpoint {
  const { manifestPath, manifest, skipped } = readManifest(arg);
  const fell = fallbackNote({ manifestPath, skipped });
  if (fell) note(fell);
  const source = `checkpoint ${manifestPath}`;
  const dir = dirname(manifestPath);
  const modelBytes = readChecked(dir, manifest.files.model, 'model', source);
  const optFile = manifest.files.optimizer ? decodeSafetensors(readChecked(dir, manifest.files.optimizer, 'optimizer', source), `${source} (optimizer file)`) : null;
  return {
    manifestPath,
    manifest,
    skipped,
    modelBytes,
    optimizer: joinTensors(manifest.optimizer, optFile, source),
    scheduler: joinTensors(manifest.scheduler, optFile, source),
  };
}
