// A dataset held in memory as one byte store, ready to share with loader workers: either encoded files
// (JPEG/PNG, one per sample) or raw fixed-size u8 pixels (CIFAR, MNIST). Labels are i32.
//
// The store is a SharedArrayBuffer when the platform allows it (Node; cross-origin-isolated pages), so
// workers read it without copies; otherwise workers get a copy once.

import { decodeImage, type DecodedImage } from './image.js';

export interface SampleStore {
  kind: 'encoded' | 'raw';
  bytes: Uint8Array;
  /** encoded: n+1 byte offsets into `bytes`. */
  offsets: Float64Array;
  labels: Int32Array;
  /** raw: every sample is height×width×channels bytes, planar (CHW) or interleaved (HWC). */
  height: number;
  width: number;
  channels: number;
  planar: boolean;
  /** encoded: a name per sample (archive path) for error messages. */
  names: string[];
}

function sharedBytes(n: number): Uint8Array {
  const SAB = (globalThis as { SharedArrayBuffer?: typeof SharedArrayBuffer }).SharedArrayBuffer;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  const nodeLike = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
  if (SAB && (nodeLike || isolated)) return new Uint8Array(new SAB(n));
  return new Uint8Array(n);
}

/** Collects encoded files, then packs them into one store. */
export class EncodedBuilder {
  private parts: Uint8Array[] = [];
  private labels: number[] = [];
  private names: string[] = [];
  private total = 0;
  add(bytes: Uint8Array, label: number, name: string): void {
    this.parts.push(bytes);
    this.labels.push(label);
    this.names.push(name);
    this.total += bytes.length;
  }
  get length(): number {
    return this.parts.length;
  }
  build(): SampleStore {
    const bytes = sharedBytes(this.total);
    const offsets = new Float64Array(this.parts.length + 1);
    let o = 0;
    this.parts.forEach((p, i) => {
      offsets[i] = o;
      bytes.set(p, o);
      o += p.length;
    });
    offsets[this.parts.length] = o;
    this.parts = [];
    return { kind: 'encoded', bytes, offsets, labels: Int32Array.from(this.labels), height: 0, width: 0, channels: 0, planar: false, names: this.names };
  }
}

/** A raw store from one contiguous pixel array. */
export function rawStore(pixels: Uint8Array, labels: ArrayLike<number>, dims: { height: number; width: number; channels: number; planar: boolean }): SampleStore {
  const bytes = sharedBytes(pixels.length);
  bytes.set(pixels);
  return { kind: 'raw', bytes, offsets: new Float64Array(0), labels: Int32Array.from(labels), ...dims, names: [] };
}

/** An image classification dataset in memory. */
export class ImageDataset {
  constructor(
    readonly store: SampleStore,
    /** Class names, index = label. */
    readonly classes: string[],
    /** What it was read from (for messages). */
    readonly name: string,
  ) {}

  get length(): number {
    return this.store.labels.length;
  }

  label(i: number): number {
    this.check(i);
    return this.store.labels[i];
  }

  /** The sample's stored bytes: the encoded file, or the raw pixels. */
  bytes(i: number): Uint8Array {
    this.check(i);
    const s = this.store;
    if (s.kind === 'encoded') return s.bytes.subarray(s.offsets[i], s.offsets[i + 1]);
    const n = s.height * s.width * s.channels;
    return s.bytes.subarray(i * n, (i + 1) * n);
  }

  /** Sample name (archive path) or `#i`. */
  sampleName(i: number): string {
    return this.store.names[i] ?? `${this.name}#${i}`;
  }

  /** The decoded image, interleaved HWC (raw planar stores are converted). */
  image(i: number): DecodedImage {
    const s = this.store;
    if (s.kind === 'encoded') return decodeImage(this.bytes(i), { name: this.sampleName(i) });
    const b = this.bytes(i);
    if (!s.planar || s.channels === 1) return { width: s.width, height: s.height, channels: s.channels, data: b.slice() };
    const hw = s.width * s.height;
    const out = new Uint8Array(b.length);
    for (let c = 0; c < s.channels; c++) for (let p = 0; p < hw; p++) out[p * s.channels + c] = b[c * hw + p];
    return { width: s.width, height: s.height, channels: s.channels, data: out };
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`${this.name}: sample index ${i} out of range [0, ${this.length})`);
  }
}
