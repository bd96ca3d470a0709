// SVG charts for `pugd analyze` and `pugd compare`: line panels over any numeric x (with optional
// min–max bands), and a contour plot of a grid (filled cells plus iso-lines by marching squares).
// Pure string building, like cli/plot.ts (whose tick and label helpers it uses); no fonts or scripts.

import { esc, fmt, ticks } from './plot.js';

export interface LineSeries {
  label: string;
  color: string;
  pts: [number, number][];
  dashed?: boolean;
  /** A shaded band [x, lo, hi] (compare: min–max over seeds). */
  band?: [number, number, number][];
  /** A dot on each point (default: when there are at most 40). */
  dots?: boolean;
}

export interface PanelSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  yRange?: [number, number];
  /** Marks x = markX with a vertical line (the trained weights at 0 in a landscape). */
  markX?: number;
  /** Integer x ticks only (epochs, iterations). */
  integerX?: boolean;
}

const PW = 400;
const PH = 270;
const TOP = 76;

function linePanel(left: number, p: PanelSpec): string {
  const xs = p.series.flatMap((s) => s.pts.map((q) => q[0]));
  const ys = p.series.flatMap((s) => [...s.pts.map((q) => q[1]), ...(s.band ?? []).flatMap((b) => [b[1], b[2]])]).filter(Number.isFinite);
  let x0 = Math.min(...xs);
  let x1 = Math.max(...xs);
  if (!(x1 > x0)) [x0, x1] = [x0 - 1, x0 + 1];
  let [y0, y1] = p.yRange ?? [Math.min(...ys), Math.max(...ys)];
  if (!(y1 > y0)) [y0, y1] = [y0 - 1, y0 + 1];
  if (!p.yRange) {
    const pad = (y1 - y0) * 0.05;
    y0 -= pad;
    y1 += pad;
  }
  const sx = (x: number) => (left + ((x - x0) / (x1 - x0)) * PW).toFixed(1);
  const sy = (y: number) => (TOP + PH - ((y - y0) / (y1 - y0)) * PH).toFixed(1);
  const out: string[] = [];
  out.push(`<text x="${left + PW / 2}" y="${TOP - 12}" text-anchor="middle" font-size="14" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${left}" y="${TOP}" width="${PW}" height="${PH}" fill="none" stroke="#444"/>`);
  for (const t of ticks(y0, y1)) {
    out.push(`<line x1="${left}" y1="${sy(t)}" x2="${left + PW}" y2="${sy(t)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${sy(t)}" text-anchor="end" dominant-baseline="middle" font-size="11">${fmt(t)}</text>`);
  }
  for (const t of ticks(x0, x1, 6).filter((t) => !p.integerX || Number.isInteger(t))) {
    out.push(`<line x1="${sx(t)}" y1="${TOP + PH}" x2="${sx(t)}" y2="${TOP + PH + 4}" stroke="#444"/>`);
    out.push(`<text x="${sx(t)}" y="${TOP + PH + 17}" text-anchor="middle" font-size="11">${fmt(t)}</text>`);
  }
  if (p.markX !== undefined) out.push(`<line x1="${sx(p.markX)}" y1="${TOP}" x2="${sx(p.markX)}" y2="${TOP + PH}" stroke="#999" stroke-dasharray="3 3"/>`);
  out.push(`<text x="${left + PW - 20}" y="${TOP + PH + 36}" text-anchor="middle" font-size="12">${esc(p.xLabel)}</text>`);
  out.push(`<text transform="translate(${left - 50},${TOP + PH / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(p.yLabel)}</text>`);
  p.series.forEach((s, i) => {
    if (s.band?.length) {
      const up = s.band.map((b) => `${sx(b[0])},${sy(b[2])}`);
      const down = [...s.band].reverse().map((b) => `${sx(b[0])},${sy(b[1])}`);
      out.push(`<polygon points="${[...up, ...down].join(' ')}" fill="${s.color}" fill-opacity="0.18" stroke="none"/>`);
    }
    const pts = s.pts.filter((q) => Number.isFinite(q[1]));
    if (pts.length) {
      out.push(`<path d="${pts.map((q, j) => `${j ? 'L' : 'M'}${sx(q[0])},${sy(q[1])}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      if (s.dots ?? pts.length <= 40) for (const q of pts) out.push(`<circle cx="${sx(q[0])}" cy="${sy(q[1])}" r="2.5" fill="${s.color}"/>`);
    }
    const lx = left + 90 * i;
    const ly = TOP + PH + 36;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${lx + 27}" y="${ly}" dominant-baseline="middle" font-size="12">${esc(s.label)}</text>`);
  });
  return out.join('\n');
}

function frame(width: number, H: number, title: string, subtitle: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif">`,
    `<rect width="${width}" height="${H}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    `<text x="${width / 2}" y="40" text-anchor="middle" font-size="12" fill="#555">${esc(subtitle)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** One or more line panels side by side. */
export function lineChartSvg(title: string, subtitle: string, panels: PanelSpec[]): string {
  return frame(80 + panels.length * (PW + 80), 400, title, subtitle, panels.map((p, i) => linePanel(75 + i * (PW + 80), p)));
}

/** White → blue → dark colour ramp for t in [0, 1]. */
function ramp(t: number): string {
  const c = Math.min(1, Math.max(0, t));
  const stops = [[247, 251, 255], [107, 174, 214], [8, 48, 107]];
  const k = c < 0.5 ? 0 : 1;
  const u = c < 0.5 ? c / 0.5 : (c - 0.5) / 0.5;
  const rgb = stops[k].map((v, i) => Math.round(v + (stops[k + 1][i] - v) * u));
  return `rgb(${rgb.join(',')})`;
}

/**
 * A contour plot of z[i][j] at (xs[j], ys[i]): cells coloured by value and `levels` iso-lines
 * (marching squares), the centre (0, 0) marked.
 */
export function contourSvg(title: string, subtitle: string, xs: readonly number[], ys: readonly number[], z: readonly (readonly number[])[], o: { levels?: number; xLabel?: string; yLabel?: string } = {}): string {
  const size = 300;
  const left = 80;
  const nx = xs.length;
  const ny = ys.length;
  const flat = z.flat().filter(Number.isFinite);
  const zmin = Math.min(...flat);
  const zmax = Math.max(...flat);
  const span = zmax > zmin ? zmax - zmin : 1;
  const sx = (x: number) => left + ((x - xs[0]) / (xs[nx - 1] - xs[0] || 1)) * size;
  const sy = (y: number) => TOP + size - ((y - ys[0]) / (ys[ny - 1] - ys[0] || 1)) * size;
  const body: string[] = [];
  const cw = size / Math.max(1, nx - 1);
  const ch = size / Math.max(1, ny - 1);
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      const v = z[i][j];
      const x = Math.max(left, sx(xs[j]) - cw / 2);
      const y = Math.max(TOP, sy(ys[i]) - ch / 2);
      const w = Math.min(left + size, sx(xs[j]) + cw / 2) - x;
      const h = Math.min(TOP + size, sy(ys[i]) + ch / 2) - y;
      body.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${Number.isFinite(v) ? ramp((v - zmin) / span) : '#f00'}"/>`);
    }
  }
  const nLevels = o.levels ?? 10;
  const levels = Array.from({ length: nLevels }, (_, k) => zmin + (span * (k + 1)) / (nLevels + 1));
  for (const lv of levels) {
    const segs: string[] = [];
    for (let i = 0; i + 1 < ny; i++) {
      for (let j = 0; j + 1 < nx; j++) {
        // Corners in order (i,j) → (i,j+1) → (i+1,j+1) → (i+1,j); points where the level crosses an edge.
        const c = [[i, j], [i, j + 1], [i + 1, j + 1], [i + 1, j]];
        const pts: [number, number][] = [];
        for (let e = 0; e < 4; e++) {
          const [ai, aj] = c[e];
          const [bi, bj] = c[(e + 1) % 4];
          const va = z[ai][aj];
          const vb = z[bi][bj];
          if ((va < lv) !== (vb < lv) && Number.isFinite(va) && Number.isFinite(vb)) {
            const t = (lv - va) / (vb - va);
            pts.push([sx(xs[aj] + t * (xs[bj] - xs[aj])), sy(ys[ai] + t * (ys[bi] - ys[ai]))]);
          }
        }
        for (let k = 0; k + 1 < pts.length; k += 2) segs.push(`M${pts[k][0].toFixed(1)},${pts[k][1].toFixed(1)}L${pts[k + 1][0].toFixed(1)},${pts[k + 1][1].toFixed(1)}`);
      }
    }
    if (segs.length) body.push(`<path d="${segs.join('')}" fill="none" stroke="#222" stroke-width="1"/>`);
  }
  body.push(`<rect x="${left}" y="${TOP}" width="${size}" height="${size}" fill="none" stroke="#444"/>`);
  body.push(`<circle cx="${sx(0).toFixed(1)}" cy="${sy(0).toFixed(1)}" r="4" fill="#d62728"/>`);
  for (const t of ticks(xs[0], xs[nx - 1], 4)) body.push(`<text x="${sx(t).toFixed(1)}" y="${TOP + size + 16}" text-anchor="middle" font-size="11">${fmt(t)}</text>`);
  for (const t of ticks(ys[0], ys[ny - 1], 4)) body.push(`<text x="${left - 6}" y="${sy(t).toFixed(1)}" text-anchor="end" dominant-baseline="middle" font-size="11">${fmt(t)}</text>`);
  body.push(`<text x="${left + size / 2}" y="${TOP + size + 34}" text-anchor="middle" font-size="12">${esc(o.xLabel ?? 'direction 1')}</text>`);
  body.push(`<text transform="translate(${left - 45},${TOP + size / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(o.yLabel ?? 'direction 2')}</text>`);
  // Colour scale
  const bx = left + size + 40;
  for (let k = 0; k < 50; k++) body.push(`<rect x="${bx}" y="${(TOP + size - ((k + 1) * size) / 50).toFixed(1)}" width="16" height="${(size / 50 + 0.5).toFixed(1)}" fill="${ramp(k / 49)}"/>`);
  body.push(`<text x="${bx + 22}" y="${TOP + 4}" font-size="11">${fmt(zmax)}</text>`);
  body.push(`<text x="${bx + 22}" y="${TOP + size}" font-size="11">${fmt(zmin)}</text>`);
  body.push(`<text x="${bx}" y="${TOP - 8}" font-size="11">loss</text>`);
  return frame(left + size + 140, TOP + size + 50, title, subtitle, body);
}
