// A small line chart on a <canvas>: one series drawn as a line (per training step), one as dots (per
// epoch, on the same x axis), axes with their ranges. Redraws at most once per animation frame, so a
// fast training loop cannot flood the page. No dependencies.
//
// Not handled: zoom, legends beyond the caption, more than two series.

export interface Point {
  x: number;
  y: number;
}

export class LineChart {
  readonly line: Point[] = [];
  readonly dots: Point[] = [];
  private queued = false;
  /** Draws so far (tests read it through the page's `pugdPage`). */
  draws = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly opts: { yLabel: string; fixedRange?: [number, number]; color: string; dotColor: string },
  ) {
    this.draw();
  }

  add(series: 'line' | 'dots', p: Point): void {
    if (!Number.isFinite(p.y)) return;
    (series === 'line' ? this.line : this.dots).push(p);
    this.schedule();
  }

  clear(): void {
    this.line.length = 0;
    this.dots.length = 0;
    this.schedule();
  }

  private schedule(): void {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => {
      this.queued = false;
      this.draw();
    });
  }

  draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    this.draws++;
    const { width: W, height: H } = this.canvas;
    const m = { l: 52, r: 12, t: 12, b: 28 };
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, W, H);
    const all = [...this.line, ...this.dots];
    const xMax = Math.max(1, ...all.map((p) => p.x));
    let [yMin, yMax] = this.opts.fixedRange ?? [Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))];
    if (!all.length) [yMin, yMax] = this.opts.fixedRange ?? [0, 1];
    if (yMax - yMin < 1e-9) [yMin, yMax] = [yMin - 0.5, yMax + 0.5];
    const X = (x: number) => m.l + ((W - m.l - m.r) * x) / xMax;
    const Y = (y: number) => H - m.b - ((H - m.t - m.b) * (y - yMin)) / (yMax - yMin);
    // Axes and their ranges.
    ctx.strokeStyle = '#8792a2';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(m.l, m.t);
    ctx.lineTo(m.l, H - m.b);
    ctx.lineTo(W - m.r, H - m.b);
    ctx.stroke();
    ctx.fillStyle = '#3b4658';
    ctx.font = '11px sans-serif';
    ctx.textAlign = 'right';
    ctx.fillText(yMax.toFixed(3), m.l - 4, m.t + 8);
    ctx.fillText(yMin.toFixed(3), m.l - 4, H - m.b);
    ctx.textAlign = 'center';
    ctx.fillText(`step ${xMax}`, W - m.r - 24, H - 8);
    ctx.save();
    ctx.translate(12, H / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(this.opts.yLabel, 0, 0);
    ctx.restore();
    if (this.line.length) {
      ctx.strokeStyle = this.opts.color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      this.line.forEach((p, i) => (i ? ctx.lineTo(X(p.x), Y(p.y)) : ctx.moveTo(X(p.x), Y(p.y))));
      ctx.stroke();
    }
    ctx.fillStyle = this.opts.dotColor;
    for (const p of this.dots) {
      ctx.beginPath();
      ctx.arc(X(p.x), Y(p.y), 4, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}
