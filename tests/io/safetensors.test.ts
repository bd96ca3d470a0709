// safetensors: files written by pugd are parsed by a minimal reader written here from the format's
// definition (no pugd code), a file assembled here by hand is read by pugd, every kind of corruption
// gets an error naming the reason, and module weights round-trip with PyTorch's names.
import { describe, it, beforeAll, expect } from 'vitest';
import { Generator, io, models, noGrad, randn, tidy } from '../../index.js';
import { testBackends, useBackend } from '../harness.js';

/** Independent reader: u64 LE length, JSON header, raw little-endian data after it. */
function miniRead(bytes: Uint8Array) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
  const base = 8 + n;
  const out: Record<string, { dtype: string; shape: number[]; values: number[] }> = {};
  for (const [k, v] of Object.entries<any>(header)) {
    if (k === '__metadata__') continue;
    const [b, e] = v.data_offsets;
    const values: number[] = [];
    for (let o = base + b; o < base + e; o += v.dtype === 'I64' ? 8 : 4) {
      values.push(v.dtype === 'F32' ? dv.getFloat32(o, true) : v.dtype === 'I32' ? dv.getInt32(o, true) : Number(dv.getBigInt64(o, true)));
    }
    out[k] = { dtype: v.dtype, shape: v.shape, values };
  }
  return { n, header, out, dataStart: base };
}

/** Assembles a file by hand: the header text exactly as given, then the data bytes. */
function handMade(headerText: string, data: number[][], dtypes: ('f32' | 'i64')[]): Uint8Array {
  const h = Buffer.from(headerText, 'utf8');
  const parts: Buffer[] = [];
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  parts.push(len, h);
  data.forEach((vals, i) => {
    const b = Buffer.alloc(vals.length * (dtypes[i] === 'i64' ? 8 : 4));
    vals.forEach((v, j) => (dtypes[i] === 'i64' ? b.writeBigInt64LE(BigInt(v), 8 * j) : b.writeFloatLE(v, 4 * j)));
    parts.push(b);
  });
  return new Uint8Array(Buffer.concat(parts));
}

describe('safetensors format', () => {
  it('pugd writes what an independent reader parses: header, alignment, dtypes, values', () => {
    const w = Float32Array.of(1.5, -2, 3.25, 0, 1e-8, -7);
    const bytes = io.encodeSafetensors({
      'a.weight': { shape: [2, 3], data: w },
      'a.count': { dtype: 'I64', shape: [], data: BigInt64Array.of(12345678901n) },
      idx: { dtype: 'I32', shape: [3], data: Int32Array.of(-1, 0, 7) },
      empty: { shape: [0, 4], data: new Float32Array(0) },
    }, { format: 'pt', note: 'épée' });
    const r = miniRead(bytes);
    expect(r.dataStart % 8, 'data starts 8-byte aligned').toBe(0);
    expect(r.header.__metadata__).toEqual({ format: 'pt', note: 'épée' });
    expect(r.out['a.weight']).toEqual({ dtype: 'F32', shape: [2, 3], values: [...w] });
    expect(r.out['a.count']).toEqual({ dtype: 'I64', shape: [], values: [12345678901] });
    expect(r.out.idx).toEqual({ dtype: 'I32', shape: [3], values: [-1, 0, 7] });
    expect(r.out.empty.values).toEqual([]);
    // Offsets cover the data section exactly, and the I64 entry is 8-aligned.
    const spans = Object.entries<any>(r.header).filter(([k]) => k !== '__metadata__').map(([, v]) => v.data_offsets as number[]).sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [b, e] of spans) {
      expect(b).toBe(at);
      at = e;
    }
    expect(at).toBe(bytes.length - r.dataStart);
    expect(r.header['a.count'].data_offsets[0] % 8).toBe(0);
  });

  it('pugd reads a file assembled by hand, converting F16/BF16/F64 to f32', () => {
    const text = '{"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"n":{"dtype":"I64","shape":[1],"data_offsets":[16,24]},"__metadata__":{"format":"pt"}}';
    const f = io.decodeSafetensors(handMade(text, [[1, 2, 3, 4], [9]], ['f32', 'i64']));
    expect(f.metadata).toEqual({ format: 'pt' });
    expect(f.tensors.x.shape).toEqual([2, 2]);
    expect([...io.toFloat32(f.tensors.x)]).toEqual([1, 2, 3, 4]);
    expect([...io.toFloat32(f.tensors.n)]).toEqual([9]);
    // Half floats: 0x3c00 = 1, 0xc000 = −2, 0x3555 ≈ 0.33325; bf16 0x3f80 = 1, 0xc0a0 = −5.
    const hb = Buffer.from('{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]},"d":{"dtype":"F64","shape":[1],"data_offsets":[10,18]}}');
    const raw = Buffer.alloc(8 + hb.length + 18);
    raw.writeBigUInt64LE(BigInt(hb.length));
    hb.copy(raw, 8);
    let o = 8 + hb.length;
    for (const v of [0x3c00, 0xc000, 0x3555, 0x3f80, 0xc0a0]) { raw.writeUInt16LE(v, o); o += 2; }
    raw.writeDoubleLE(0.1, o);
    const g = io.decodeSafetensors(new Uint8Array(raw));
    expect([...io.toFloat32(g.tensors.h)]).toEqual([1, -2, Math.fround(0.333251953125)]);
    expect([...io.toFloat32(g.tensors.b)]).toEqual([1, -5]);
    expect([...io.toFloat32(g.tensors.d)]).toEqual([Math.fround(0.1)]);
  });

  it('corrupt files get an error naming the file and the reason', () => {
    const good = io.encodeSafetensors({ w: { shape: [4], data: Float32Array.of(1, 2, 3, 4) } });
    const src = 'ckpt.safetensors';
    expect(() => io.decodeSafetensors(good.subarray(0, 5), src)).toThrow(/ckpt\.safetensors: not a valid safetensors file: 5 bytes/);
    expect(() => io.decodeSafetensors(good.subarray(0, good.length - 4), src)).toThrow(/truncated/);
    const hugeLen = good.slice();
    new DataView(hugeLen.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => io.decodeSafetensors(hugeLen, src)).toThrow(/header length 1099511627776 exceeds/);
    const notJson = good.slice();
    notJson[8] = 0x5b; // '[' instead of '{'
    expect(() => io.decodeSafetensors(notJson, src)).toThrow(/header is not UTF-8 JSON|not a JSON object/);
    const t = (h: string, n: number) => handMade(h, [Array(n).fill(0)], ['f32']);
    expect(() => io.decodeSafetensors(t('{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}', 2), src)).toThrow(/'w' has unsupported dtype "Q4"/);
    expect(() => io.decodeSafetensors(t('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 2), src)).toThrow(/'w' \(F32 \[3\]\) needs 12 bytes but its offsets span 8/);
    expect(() => io.decodeSafetensors(t('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 2), src)).toThrow(/bytes 0\.\.4 of the data section belong to no tensor/);
    expect(() => io.decodeSafetensors(t('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 2), src)).toThrow(/overlaps/);
    expect(() => io.decodeSafetensors(t('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 2), src)).toThrow(/4 bytes after the last tensor/);
    expect(() => io.decodeSafetensors(t('{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 1), src)).toThrow(/invalid shape/);
  });

  it('the writer refuses what it cannot represent', () => {
    expect(() => io.encodeSafetensors({ w: { shape: [3], data: new Float32Array(2) } })).toThrow(/'w': 2 values do not fill shape \[3\]/);
    expect(() => io.encodeSafetensors({ w: { dtype: 'I64', shape: [1], data: new Float32Array(1) } })).toThrow(/needs a BigInt64Array/);
    expect(() => io.encodeSafetensors({}, { n: 3 as unknown as string })).toThrow(/metadata 'n' must be a string/);
  });
});

for (const backend of testBackends()) {
  describe(`module weights in safetensors on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('saves PyTorch names (with num_batches_tracked) and loads them into a fresh model exactly', async () => {
      const a = models.resnet20({ width: 4, generator: new Generator(1) });
      const x = randn([4, 3, 8, 8], { generator: new Generator(2) });
      for (let i = 0; i < 3; i++) tidy(() => { noGrad(() => a.forward(x)); });
      const bytes = await io.saveSafetensors(a, { epoch: '3' });
      const r = miniRead(bytes);
      expect(r.header.__metadata__).toEqual({ format: 'pt', epoch: '3' });
      expect(r.out['layer2.0.conv1.weight'].shape).toEqual([8, 4, 3, 3]);
      expect(r.out['layer2.0.conv1.weight'].values).toEqual([...(await a.stateDict()['layer2.0.conv1.weight'].toArray())]);
      expect(r.out['bn1.num_batches_tracked']).toEqual({ dtype: 'I64', shape: [], values: [3] });
      expect(r.out['layer3.2.bn2.num_batches_tracked'].values).toEqual([3]);
      const names = Object.keys(r.out);
      expect(names.filter((k) => k.endsWith('num_batches_tracked')).length).toBe(19); // stem BN + 9 blocks × 2
      const b = models.resnet20({ width: 4, generator: new Generator(9) });
      expect(io.loadSafetensors(b, bytes, { source: 'r20.safetensors' }).epoch).toBe('3');
      for (const [k, t] of Object.entries(b.stateDict())) expect([...(await t.toArray())], k).toEqual([...(await a.stateDict()[k].toArray())]);
      expect((b.namedModules().find(([n]) => n === 'bn1')![1] as any).numBatchesTracked).toBe(3);
      // A different model: the error names the file, the key and both shapes.
      const c = models.resnet20({ width: 8, generator: new Generator(1) });
      expect(() => io.loadSafetensors(c, bytes, { source: 'r20.safetensors' })).toThrow(/r20\.safetensors: 'conv1\.weight' has shape \[4,3,3,3\] but the model expects \[8,3,3,3\]/);
      const d = models.resnet32({ width: 4, generator: new Generator(1) });
      expect(() => io.loadSafetensors(d, bytes, { source: 'r20.safetensors' })).toThrow(/r20\.safetensors: .*missing keys: layer1\.3/);
      for (const m of [a, b, c, d]) m.dispose();
      x.dispose();
    });

    it('requireFinite refuses to serialise NaN/Inf weights and names the tensor', async () => {
      const m = models.resnet20({ width: 2, generator: new Generator(1) });
      const w = m.stateDict()['layer2.1.conv2.weight'];
      const host = await w.toArray();
      host[5] = Infinity;
      m.loadStateDict({ ...Object.fromEntries(await Promise.all(Object.entries(m.stateDict()).map(async ([k, t]) => [k, await t.toArray()]))), 'layer2.1.conv2.weight': host });
      await expect(io.saveSafetensors(m, {}, { requireFinite: true })).rejects.toThrow(/'layer2\.1\.conv2\.weight' holds Infinity/);
      expect((await io.saveSafetensors(m)).length).toBeGreaterThan(0); // without the option it is saved as is
      m.dispose();
    });
  });
}
