// The safetensors format (Hugging Face): an 8-byte little-endian u64 header length N, N bytes of
// UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then
// the data, little-endian and row-major, offsets relative to the first byte after the header.
// PyTorch reads these files with `safetensors.torch.load_file`.
//
// Writer: header padded with spaces so the data starts 8-byte aligned, tensors ordered by alignment
// (8-byte dtypes first, as the reference writer does) then by the caller's order, so every tensor
// can be viewed in place. Reader: checks everything a corrupt or truncated file could get wrong and
// names the file entry and the reason. Pure format code, no Node built-ins: it runs in the browser too.
// Not handled: F8 types, U16/U32/U64, files over 2^53 bytes.

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const BYTES: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Header size limit of the reference implementation (100 MB), against absurd lengths in corrupt files. */
const MAX_HEADER = 100_000_000;

/** What the writer takes: f32 values (the default), i32, or i64 (BigInt64Array). */
export interface SafetensorsInput {
  dtype?: 'F32' | 'I32' | 'I64';
  shape: readonly number[];
  data: Float32Array | Int32Array | BigInt64Array;
}

/** One tensor of a parsed file: its bytes are a view into the file's buffer. */
export interface SafetensorsTensor {
  dtype: SafetensorsDType;
  shape: number[];
  bytes: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Serialises named tensors (and optional string metadata) to safetensors bytes.
 *
 * @example
 *   const bytes = encodeSafetensors({ 'fc.weight': { shape: [10, 64], data: w } }, { format: 'pt' });
 */
export function encodeSafetensors(tensors: Record<string, SafetensorsInput>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '__metadata__' || name.length === 0) throw new Error(`safetensors: invalid tensor name '${name}'`);
    const dtype = t.dtype ?? 'F32';
    if (!['F32', 'I32', 'I64'].includes(dtype)) throw new Error(`safetensors: '${name}': cannot write dtype ${dtype}`);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`safetensors: '${name}': invalid shape [${t.shape.join(',')}]`);
    const want = dtype === 'F32' ? Float32Array : dtype === 'I32' ? Int32Array : BigInt64Array;
    if (!(t.data instanceof want)) throw new Error(`safetensors: '${name}': dtype ${dtype} needs a ${want.name}, got ${t.data.constructor.name}`);
    if (t.data.length !== numel(t.shape)) throw new Error(`safetensors: '${name}': ${t.data.length} values do not fill shape [${t.shape.join(',')}]`);
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new Error(`safetensors: metadata '${k}' must be a string (the format allows only string values)`);
  }
  // 8-byte dtypes first so that, with an 8-aligned data start, every tensor is aligned to its size.
  const ordered = entries
    .map(([name, t], i) => ({ name, t, dtype: t.dtype ?? 'F32', i }))
    .sort((a, b) => BYTES[b.dtype] - BYTES[a.dtype] || a.i - b.i);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const e of ordered) {
    const n = e.t.data.byteLength;
    header[e.name] = { dtype: e.dtype, shape: [...e.t.shape], data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const e of ordered) {
    const d = e.t.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

/**
 * Parses safetensors bytes, checking the header length, the JSON, every entry's dtype, shape and
 * offsets, and that the data section is covered exactly (no gaps, overlaps or trailing bytes).
 * `source` names the file in errors.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsFile {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes, shorter than the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) {
    fail(`header length ${n64} exceeds the ${bytes.length - 8} bytes that follow (truncated or corrupt file)`);
  }
  const n = Number(n64);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`the header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail('the header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const tensors: Record<string, SafetensorsTensor> = {};
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!v || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) fail('__metadata__ must map strings to strings');
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') fail(`entry '${name}' is not an object`);
    const dtype = e.dtype as SafetensorsDType;
    if (typeof dtype !== 'string' || !(dtype in BYTES)) fail(`entry '${name}' has unsupported dtype ${JSON.stringify(e.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`entry '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[1] < off[0]) {
      fail(`entry '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const [b, end] = off as [number, number];
    const want = numel(shape as number[]) * BYTES[dtype];
    if (end - b !== want) fail(`entry '${name}' (${dtype} [${(shape as number[]).join(',')}]) needs ${want} bytes but its offsets span ${end - b}`);
    if (end > dataLen) fail(`entry '${name}' ends at byte ${end} of a ${dataLen}-byte data section (truncated file)`);
    spans.push([b, end, name]);
    tensors[name] = { dtype, shape: shape as number[], bytes: bytes.subarray(dataStart + b, dataStart + end) };
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (const [b, end, name] of spans) {
    if (b !== covered) fail(b > covered ? `bytes ${covered}..${b} of the data section belong to no tensor (before '${name}')` : `entry '${name}' overlaps the previous tensor`);
    covered = end;
  }
  if (covered !== dataLen) fail(`${dataLen - covered} bytes after the last tensor belong to no tensor`);
  return { tensors, metadata };
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** A tensor's values as f32 (floats converted; integers and bools as numbers). */
export function toFloat32(t: SafetensorsTensor, name = 'tensor'): Float32Array {
  const n = numel(t.shape);
  // Copy first: the view into the file may not be aligned for a typed-array view.
  const buf = t.bytes.slice().buffer;
  const dv = new DataView(buf);
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(buf, 0, n);
    case 'F64':
      return Float32Array.from(new Float64Array(buf, 0, n));
    case 'F16':
      return Float32Array.from({ length: n }, (_, i) => f16ToF32(dv.getUint16(2 * i, true)));
    case 'BF16': {
      const out = new Float32Array(n);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'I64':
      return Float32Array.from(new BigInt64Array(buf, 0, n), (v) => Number(v));
    case 'I32':
      return Float32Array.from(new Int32Array(buf, 0, n));
    case 'I16':
      return Float32Array.from(new Int16Array(buf, 0, n));
    case 'I8':
      return Float32Array.from(new Int8Array(buf, 0, n));
    case 'U8':
    case 'BOOL':
      return Float32Array.from(new Uint8Array(buf, 0, n));
    default:
      throw new Error(`safetensors: '${name}': cannot convert dtype ${String(t.dtype)} to f32`);
  }
}
