// Progress for long work: on a terminal, one bar per epoch redrawn in place (batch n/N, images/s,
// running loss and accuracy, ETA); elsewhere (logs, CI, pipes) one plain line every few seconds, so
// a log is readable and never floods. The caller decides when values are read from the device; this
// file only formats and throttles. The clock and the output are injected for tests.
// A display problem never stops training: a terminal that reports no width (a pty without a window
// size says 0 columns) gets 80, and a write that throws turns the display off for the rest of the run.

export interface ProgressSink {
  write(s: string): void;
}

export interface ProgressOptions {
  out: ProgressSink;
  /** Redraw in place with \r (terminal) or print lines. */
  tty: boolean;
  /** Terminal width for the bar, or a function read at each redraw (terminals resize). Missing, 0 or
   * not a number: 80. */
  columns?: number | (() => number | undefined);
  /** Seconds between plain lines (non-terminal). Default 5. */
  lineEverySec?: number;
  /** Milliseconds clock; performance.now by default. */
  now?: () => number;
}

export interface ProgressState {
  batch: number;
  images: number;
  /** Running mean loss over the epoch so far (NaN when not read yet). */
  loss: number;
  /** Running accuracy in [0, 1]. */
  acc: number;
}

/** m:ss or h:mm:ss. */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '--:--';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

export class Progress {
  private readonly now: () => number;
  private label = '';
  private doneBatches = 0;
  private doneImages = 0;
  private total = 0;
  private t0 = 0;
  private lastDraw = -Infinity;
  private drawn = false;
  /** The batch of the last plain line printed in this phase (a forced final update repeats none). */
  private lastLineBatch = -1;
  private broken = false;
  private readonly opts: Required<Omit<ProgressOptions, 'columns'>> & Pick<ProgressOptions, 'columns'>;

  constructor(opts: ProgressOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.opts = { lineEverySec: 5, ...opts, now: this.now };
  }

  /** The terminal's width now: what the option says when it is a usable number, else 80. */
  get columns(): number {
    const c = typeof this.opts.columns === 'function' ? this.opts.columns() : this.opts.columns;
    return typeof c === 'number' && Number.isFinite(c) && c >= 2 ? Math.floor(c) : 80;
  }

  /** Writes, unless the output failed before; a failing output turns the display off, never the run. */
  private write(s: string): void {
    if (this.broken) return;
    try {
      this.opts.out.write(s);
    } catch {
      this.broken = true;
    }
  }

  /**
   * Begins a phase ("epoch 3/10", "test") of `total` batches, of which `doneBatches` (holding
   * `doneImages`) were done before this process started (a resumed epoch): they count for the
   * position, not for the rate or the ETA.
   */
  start(label: string, total: number, doneBatches = 0, doneImages = 0): void {
    this.label = label;
    this.total = total;
    this.doneBatches = doneBatches;
    this.doneImages = doneImages;
    this.t0 = this.now();
    this.lastDraw = this.t0;
    this.drawn = false;
    this.lastLineBatch = -1;
  }

  /** Whether an update now would be shown (so the caller can skip reading values from the device). */
  due(): boolean {
    const t = this.now();
    return this.opts.tty ? t - this.lastDraw >= 100 : t - this.lastDraw >= this.opts.lineEverySec * 1000;
  }

  /** Shows the state if due (or when `force`). */
  update(s: ProgressState, force = false): void {
    if (!force && !this.due()) return;
    if (!this.opts.tty && s.batch === this.lastLineBatch) return; // a log never gets the same line twice
    this.lastDraw = this.now();
    const line = this.format(s);
    if (this.opts.tty) {
      const room = this.columns - 1;
      this.write(`\r${line.slice(0, room).padEnd(Math.min(room, line.length + 2))}`);
      this.drawn = true;
    } else {
      this.write(`${line}\n`);
      this.lastLineBatch = s.batch;
    }
  }

  /** Ends the phase: clears the bar (the caller prints its summary line next). */
  end(): void {
    if (this.opts.tty && this.drawn) this.write(`\r${' '.repeat(this.columns - 1)}\r`);
    this.drawn = false;
  }

  /** Seconds since `start`. */
  elapsed(): number {
    return (this.now() - this.t0) / 1000;
  }

  format(s: ProgressState): string {
    const el = this.elapsed();
    const rate = el > 0 ? (s.images - this.doneImages) / el : 0;
    const ran = s.batch - this.doneBatches;
    const eta = ran > 0 ? (el / ran) * (this.total - s.batch) : NaN;
    const stats = [
      `${s.batch}/${this.total}`,
      `${rate.toFixed(1)} img/s`,
      Number.isFinite(s.loss) ? `loss ${s.loss.toFixed(4)}` : 'loss …',
      Number.isFinite(s.acc) ? `acc ${(100 * s.acc).toFixed(2)}%` : 'acc …',
      `ETA ${formatDuration(eta)}`,
    ].join(' · ');
    if (!this.opts.tty) return `${this.label} ${stats}`;
    const room = this.columns - 1 - this.label.length - stats.length - 4;
    const width = Math.max(0, Math.min(30, room));
    const filled = this.total > 0 ? Math.min(width, Math.max(0, Math.round((width * s.batch) / this.total))) : 0;
    const bar = width > 0 ? ` [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]` : '';
    return `${this.label}${bar} ${stats}`;
  }
}
