// The training page's built-in sample: a small synthetic image-classification set drawn from a seeded
// generator, so the page trains offline with nothing to download and every run sees the same images.
//
// Ten classes of S×S RGB pictures (S = 32 by default, CIFAR's size): horizontal, vertical and two
// diagonal stripe patterns, a checkerboard, a disc, a ring, a plus, a cross and a square frame. Each
// image draws its own period or size, phase, position, two colours and pixel noise, so the classes
// differ by shape only and a small ResNet must learn shape detectors to separate them.
//
// Pixels are stored planar (CHW, as CIFAR's binary records), u8. Not handled: other sizes of class set.

import { Generator } from '../browser.js';

export const SAMPLE_CLASSES = ['h-stripes', 'v-stripes', 'diag-/', 'diag-\\', 'checker', 'disc', 'ring', 'plus', 'cross', 'frame'];

export interface SampleSplit {
  pixels: Uint8Array;
  labels: Int32Array;
  size: number;
}

/** Is pixel (y, x) foreground for class `c` with the image's drawn parameters? */
function inside(c: number, y: number, x: number, p: { period: number; phase: number; cy: number; cx: number; r: number; t: number }): boolean {
  const { period, phase, cy, cx, r, t } = p;
  const stripe = (v: number) => ((((v + phase) % period) + period) % period) < period / 2;
  const dy = y - cy;
  const dx = x - cx;
  switch (c) {
    case 0: return stripe(y);
    case 1: return stripe(x);
    case 2: return stripe(x + y);
    case 3: return stripe(x - y);
    case 4: return stripe(x) !== stripe(y);
    case 5: return dx * dx + dy * dy <= r * r;
    case 6: { const d = Math.sqrt(dx * dx + dy * dy); return d <= r && d >= r - t; }
    case 7: return (Math.abs(dx) < t / 2 && Math.abs(dy) <= r) || (Math.abs(dy) < t / 2 && Math.abs(dx) <= r);
    case 8: return (Math.abs(dx - dy) < t / 1.5 || Math.abs(dx + dy) < t / 1.5) && Math.abs(dx) <= r && Math.abs(dy) <= r;
    default: return Math.max(Math.abs(dx), Math.abs(dy)) <= r && Math.max(Math.abs(dx), Math.abs(dy)) >= r - t;
  }
}

/**
 * `n` images with labels cycling through the ten classes in a shuffled order.
 *
 * @example
 *   const train = makeSample(512, 1), test = makeSample(128, 2);
 */
export function makeSample(n: number, seed: number, size = 32): SampleSplit {
  const g = new Generator(seed);
  const hw = size * size;
  const pixels = new Uint8Array(n * 3 * hw);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % SAMPLE_CLASSES.length;
  for (let i = n - 1; i > 0; i--) {
    const j = g.int(i + 1);
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  const u = (lo: number, hi: number) => lo + (hi - lo) * g.uniform();
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    const p = {
      period: Math.round(u(size / 8, size / 4)),
      phase: g.int(size),
      cy: u(size * 0.35, size * 0.65),
      cx: u(size * 0.35, size * 0.65),
      r: u(size * 0.2, size * 0.33),
      t: u(size * 0.08, size * 0.14),
    };
    // Two colours at least 96 apart on some channel, so the shape is visible in every image.
    const fg = [g.int(256), g.int(256), g.int(256)];
    const bg = fg.map((v) => (v + 96 + g.int(64)) % 256);
    const base = i * 3 * hw;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const on = inside(c, y, x, p);
        for (let ch = 0; ch < 3; ch++) {
          const v = (on ? fg[ch] : bg[ch]) + Math.round(u(-24, 24));
          pixels[base + ch * hw + y * size + x] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
      }
    }
  }
  return { pixels, labels, size };
}
