// The training-curves plot: an SVG with two panels side by side, loss (train and test) and accuracy
// in % (train and test), against the epoch, and with per-step diagnostics (--log-steps) a third panel,
// the update norm ‖Δw‖ against the step. Redrawn from all epochs so far after every epoch, so the
// file is always a complete picture. Pure string building (works anywhere); no fonts or scripts
// referenced, so any browser or image viewer shows it. Not handled: log scales.

export interface EpochPoint {
  epoch: number;
  trainLoss: number;
  trainAcc: number;
  testLoss?: number;
  testAcc?: number;
}

/** One step's update norm (steps.jsonl with --log-steps). */
export interface StepPoint {
  step: number;
  dw: number;
}

const W = 960;
const W3 = 1440;
const H = 400;
const PANEL_W = 380;
const PANEL_H = 270;
const TOP = 76;
const LEFTS = [70, 550, 1030];
const COLORS = { train: '#1f77b4', test: '#d62728' };

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "Nice" tick values covering [lo, hi] (1, 2, 5 × 10^k steps). */
export function ticks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? String(Number(v.toPrecision(3))) : String(Number(v.toPrecision(2)));
}

interface Series {
  label: string;
  color: string;
  pts: [number, number][];
  dashed?: boolean;
}

function panel(left: number, title: string, yLabel: string, series: Series[], xMax: number, yRange?: [number, number], xLabel = 'epoch'): string {
  const all = series.flatMap((s) => s.pts.map((p) => p[1])).filter(Number.isFinite);
  let [y0, y1] = yRange ?? [Math.min(0, ...all), Math.max(...all, 1e-6)];
  if (!yRange) {
    y1 = y1 + (y1 - y0) * 0.05;
    y0 = Math.max(0, y0);
  }
  // One epoch: centred on an axis of its own (0.5 … 1.5) with the one tick, not an axis up to an epoch 2.
  const single = xMax <= 1;
  const x0 = single ? xMax - 0.5 : 1;
  const x1 = single ? xMax + 0.5 : xMax;
  const sx = (x: number) => left + ((x - x0) / (x1 - x0)) * PANEL_W;
  const sy = (y: number) => TOP + PANEL_H - ((y - y0) / (y1 - y0)) * PANEL_H;
  const parts: string[] = [];
  parts.push(`<text x="${left + PANEL_W / 2}" y="${TOP - 12}" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<rect x="${left}" y="${TOP}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#444"/>`);
  for (const t of ticks(y0, y1)) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${left}" y1="${y}" x2="${left + PANEL_W}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${fmt(t)}</text>`);
  }
  const xt = single ? [xMax] : ticks(x0, x1, Math.min(10, Math.max(1, x1 - x0))).filter((t) => Number.isInteger(t));
  for (const t of xt) {
    const x = sx(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${TOP + PANEL_H}" x2="${x}" y2="${TOP + PANEL_H + 4}" stroke="#444"/>`);
    parts.push(`<text x="${x}" y="${TOP + PANEL_H + 17}" text-anchor="middle" font-size="11">${t}</text>`);
  }
  parts.push(`<text x="${left + PANEL_W - 20}" y="${TOP + PANEL_H + 36}" text-anchor="middle" font-size="12">${xLabel}</text>`);
  parts.push(`<text transform="translate(${left - 48},${TOP + PANEL_H / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const pts = s.pts.filter((p) => Number.isFinite(p[1]));
    if (pts.length === 0) return;
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    if (pts.length <= 60) for (const p of pts) parts.push(`<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
    // Legend under the axis, left of the x label, so it never covers a curve.
    const lx = left + 70 * i;
    const ly = TOP + PANEL_H + 36;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${lx + 30}" y="${ly}" dominant-baseline="middle" font-size="12">${esc(s.label)}</text>`);
  });
  return parts.join('\n');
}

/**
 * The SVG document for the epochs so far.
 *
 * @example
 *   writeFileSync('curves.svg', plotSvg(points, 'resnet20 · cifar10 · pugd'));
 */
export function plotSvg(points: readonly EpochPoint[], title: string, steps: readonly StepPoint[] = []): string {
  const xMax = points.length ? Math.max(...points.map((p) => p.epoch)) : 1;
  const series = (key: 'Loss' | 'Acc', scale: number): Series[] => [
    { label: 'train', color: COLORS.train, pts: points.map((p) => [p.epoch, p[`train${key}`] * scale]) },
    { label: 'test', color: COLORS.test, pts: points.filter((p) => p[`test${key}`] !== undefined).map((p) => [p.epoch, p[`test${key}`]! * scale]), dashed: true },
  ];
  const last = points[points.length - 1];
  const sub = last
    ? `epoch ${last.epoch}: train loss ${last.trainLoss.toFixed(4)}, acc ${(100 * last.trainAcc).toFixed(2)}%` +
      (last.testAcc !== undefined ? ` · test loss ${last.testLoss!.toFixed(4)}, acc ${(100 * last.testAcc).toFixed(2)}%` : '')
    : 'no epoch finished yet';
  const width = steps.length ? W3 : W;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif">`,
    `<rect width="${width}" height="${H}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    `<text x="${width / 2}" y="40" text-anchor="middle" font-size="12" fill="#555">${esc(sub)}</text>`,
    panel(LEFTS[0], 'Loss', 'cross-entropy', series('Loss', 1), xMax),
    panel(LEFTS[1], 'Accuracy', 'accuracy (%)', series('Acc', 100), xMax, [0, 100]),
    ...(steps.length ? [updatePanel(steps)] : []),
    '</svg>',
    '',
  ].join('\n');
}

/** The per-step update norm, thinned to at most 1500 points (each the largest ‖Δw‖ of its stretch). */
function updatePanel(steps: readonly StepPoint[]): string {
  const every = Math.max(1, Math.ceil(steps.length / 1500));
  const pts: [number, number][] = [];
  for (let i = 0; i < steps.length; i += every) {
    let top = steps[i];
    for (let j = i + 1; j < Math.min(steps.length, i + every); j++) if (steps[j].dw > top.dw) top = steps[j];
    pts.push([top.step, top.dw]);
  }
  const max = Math.max(...steps.map((s) => s.dw).filter(Number.isFinite), 0);
  return panel(LEFTS[2], `Update norm (max ${fmt(max)})`, '‖Δw‖ per step', [{ label: '‖Δw‖', color: '#2ca02c', pts }], steps[steps.length - 1].step, undefined, 'step');
}
