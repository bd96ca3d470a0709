// The kernel profiler: what each kernel costs, and what each step costs, as a backend measures them.
//
// Backends feed it (only while profiling is on, behind one `if (this.profiler)` per dispatch):
// - cpu(kernel, ms): one call of a kernel and the host time it took (WebGPU: encoding the dispatch;
//   WASM: running it, since WASM runs kernels on the calling thread).
// - gpu(kernel, entry, ns, step): the device time of one compute pass (entry point) of that kernel (WebGPU with
//   `timestamp-query`), which arrives later than the call, when the batch's timestamps are read back.
// - submit(ms): host time of one queue submit (WebGPU: params upload, timestamp resolve, submit),
//   kept apart from the kernel that happened to fill the batch.
// - step(): a training step ended (the trainer calls profileStep()); wall time is measured between
//   step() calls, GPU time is the sum of the passes encoded in that step.
//
// Enabled with setBackend(name, { profile: true }) or PUGD_PROFILE=1; read with profileReport().

export interface KernelStats {
  /** run() calls of this kernel (the backend's dispatch counter counts the same). */
  calls: number;
  /** Host milliseconds: encoding (WebGPU) or executing (WASM). */
  cpuMs: number;
  /** Device milliseconds summed over its passes; null without GPU timestamps. */
  gpuMs: number | null;
  /** Compute passes timed on the device (a kernel may launch several, e.g. split-K matmul). */
  passes: number;
  /**
   * GPU time per WGSL entry point of its passes, when a pass's entry point is not the kernel itself
   * (helper passes of multi-pass launch plans); absent otherwise.
   */
  entries?: Record<string, { passes: number; gpuMs: number }>;
}

export interface StepStats {
  step: number;
  wallMs: number;
  /** Sum of the device time of the passes encoded during the step; null without GPU timestamps. */
  gpuMs: number | null;
  dispatches: number;
}

export interface ProfileReport {
  backend: string;
  /** True when GPU times come from timestamp queries. */
  gpuTiming: boolean;
  /** Why GPU times are missing or coarse, when they are. */
  note?: string;
  kernels: Record<string, KernelStats>;
  total: KernelStats;
  /** Queue submits and their host ms (WebGPU; not in any kernel's cpuMs). */
  submits: { count: number; cpuMs: number };
  steps: StepStats[];
}

const now = (): number => performance.now();

export class Profiler {
  private readonly kernels = new Map<string, KernelStats>();
  private readonly steps: StepStats[] = [];
  private readonly stepGpuNs: number[] = [0];
  private stepStart = now();
  private stepDispatches = 0;
  private readonly submits = { count: 0, cpuMs: 0 };
  /** Index of the step being encoded now (GPU times are attributed to it). */
  stepIndex = 0;

  constructor(
    readonly gpuTiming: boolean,
    readonly note?: string,
  ) {}

  private entry(name: string): KernelStats {
    let e = this.kernels.get(name);
    if (!e) this.kernels.set(name, (e = { calls: 0, cpuMs: 0, gpuMs: this.gpuTiming ? 0 : null, passes: 0 }));
    return e;
  }

  cpu(kernel: string, ms: number): void {
    const e = this.entry(kernel);
    e.calls++;
    e.cpuMs += ms;
    this.stepDispatches++;
  }

  gpu(kernel: string, entry: string, ns: number, step: number): void {
    const e = this.entry(kernel);
    e.gpuMs = (e.gpuMs ?? 0) + ns / 1e6;
    e.passes++;
    const per = (e.entries ??= {});
    const x = (per[entry] ??= { passes: 0, gpuMs: 0 });
    x.passes++;
    x.gpuMs += ns / 1e6;
    this.stepGpuNs[step] = (this.stepGpuNs[step] ?? 0) + ns;
  }

  submit(ms: number): void {
    this.submits.count++;
    this.submits.cpuMs += ms;
  }

  step(): void {
    const t = now();
    this.steps.push({ step: this.stepIndex, wallMs: t - this.stepStart, gpuMs: null, dispatches: this.stepDispatches });
    this.stepStart = t;
    this.stepDispatches = 0;
    this.stepIndex++;
    this.stepGpuNs[this.stepIndex] = 0;
  }

  /** The numbers so far. GPU times are complete only after the backend's sync(). */
  report(backend: string): ProfileReport {
    const kernels: Record<string, KernelStats> = {};
    const total: KernelStats = { calls: 0, cpuMs: 0, gpuMs: this.gpuTiming ? 0 : null, passes: 0 };
    for (const [name, e] of [...this.kernels].sort((a, b) => (b[1].gpuMs ?? b[1].cpuMs) - (a[1].gpuMs ?? a[1].cpuMs))) {
      const { entries, ...rest } = e;
      const own = !entries || (Object.keys(entries).length === 1 && entries[name] !== undefined);
      kernels[name] = own ? rest : { ...rest, entries: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, { ...v }])) };
      total.calls += e.calls;
      total.cpuMs += e.cpuMs;
      total.passes += e.passes;
      if (total.gpuMs !== null) total.gpuMs += e.gpuMs ?? 0;
    }
    const steps = this.steps.map((s) => ({ ...s, gpuMs: this.gpuTiming ? (this.stepGpuNs[s.step] ?? 0) / 1e6 : null }));
    return { backend, gpuTiming: this.gpuTiming, ...(this.note ? { note: this.note } : {}), kernels, total, submits: { ...this.submits }, steps };
  }
}

const ms = (v: number | null): string => (v === null ? '—' : v.toFixed(3));

/** The report as a table for a terminal: one row per kernel, the total, then the per-step summary. */
export function formatProfile(r: ProfileReport): string {
  const rows: string[][] = [['kernel (↳ its passes\' entry points)', 'calls', 'cpu ms', 'gpu ms', 'gpu %']];
  const gpuTotal = r.total.gpuMs ?? 0;
  const share = (g: number | null) => (g === null || gpuTotal <= 0 ? '—' : ((100 * g) / gpuTotal).toFixed(1));
  for (const [name, e] of Object.entries(r.kernels)) {
    rows.push([name, String(e.calls), ms(e.cpuMs), ms(e.gpuMs), share(e.gpuMs)]);
    for (const [entry, x] of Object.entries(e.entries ?? {})) rows.push([`  ↳ ${entry}`, `${x.passes} passes`, '', ms(x.gpuMs), share(x.gpuMs)]);
  }
  rows.push(['TOTAL', String(r.total.calls), ms(r.total.cpuMs), ms(r.total.gpuMs), share(r.total.gpuMs)]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  const out = [`pugd profile (${r.backend}${r.gpuTiming ? ', GPU timestamps' : ', no GPU timestamps'})${r.note ? `: ${r.note}` : ''}`, line(rows[0])];
  for (const row of rows.slice(1)) out.push(line(row));
  if (r.submits.count) out.push(`queue submits: ${r.submits.count}, ${ms(r.submits.cpuMs)} cpu ms (not in the kernels' cpu ms)`);
  if (r.steps.length) {
    const n = r.steps.length;
    const wall = r.steps.reduce((a, s) => a + s.wallMs, 0) / n;
    const gpu = r.gpuTiming ? r.steps.reduce((a, s) => a + (s.gpuMs ?? 0), 0) / n : null;
    const disp = r.steps.reduce((a, s) => a + s.dispatches, 0) / n;
    out.push(`steps: ${n}; per step: wall ${wall.toFixed(3)} ms, summed GPU ${ms(gpu)} ms${gpu !== null && wall > 0 ? ` (${((100 * gpu) / wall).toFixed(1)} % of wall)` : ''}, ${disp.toFixed(1)} dispatches`);
  }
  return out.join('\n');
}

/** PUGD_PROFILE=1 (Node) turns profiling on by default. */
export function envProfile(): boolean {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.PUGD_PROFILE;
  return v !== undefined && v !== '' && v !== '0';
}
