// The `pugd` command (package.json bin → dist/cli.js): parses the command line, runs a command and
// maps failures to exit codes: 2 for usage errors and missing data (one line, naming the option or
// path and the reason), 1 for failures during the work (NaN loss, device lost), 130 when interrupted.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputError, UsageError, formatHelp, parseArgs, suggest } from './args.js';
import { commands, topHelp } from './commands.js';
import { probeBackends, formatInfo } from './info.js';
import { runTrain } from './train.js';
import { runEval, trainedConfig } from './eval.js';
import { runAnalyze } from './analyze.js';
import { runCompare } from './compare.js';
import { softwareOnlyReason } from './backend.js';
import { setBackendLogger, disposeBackend } from '../engine/backend.js';
import '../engine/node.js'; // registers every backend this platform has
import { reexecWithSoftwareAdapter } from '../engine/backends/webgpu_node_env.js';

declare const PUGD_VERSION: string | undefined;
const version = typeof PUGD_VERSION === 'string' ? PUGD_VERSION : '0.1.0';

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const text = topHelp(version);
    if (cmd === undefined) {
      process.stderr.write(`${text}\n`);
      return 2;
    }
    process.stdout.write(`${text}\n`);
    return 0;
  }
  if (cmd === '--version' || cmd === '-V') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const spec = commands[cmd];
  if (!spec) {
    const s = suggest(cmd, Object.keys(commands));
    throw new UsageError(`unknown command '${cmd}'${s ? ` (did you mean '${s}'?)` : ''}; commands: ${Object.keys(commands).join(', ')}`);
  }
  const args = parseArgs(spec, rest);
  if (args.help) {
    process.stdout.write(`${formatHelp(spec)}\n`);
    return 0;
  }
  if (args.values.json) setBackendLogger(null);
  const ckpt = cmd === 'train' ? args.values.resume : cmd === 'eval' || cmd === 'analyze' ? args.values.checkpoint : undefined;
  // A resumed or evaluated run uses the backend it trained on unless --backend says otherwise, so the
  // GPU set-up below follows it too.
  const which = (ckpt !== undefined && !args.given.has('backend') ? trainedBackend(String(ckpt)) : undefined) ?? args.values.backend;
  // info shows WebGPU even when `auto` would not train on it.
  if (which === 'webgpu' || (which === 'auto' && (cmd === 'info' || softwareOnlyReason() === null))) {
    // Dawn finds no adapter on a GPU-less Linux box unless SwiftShader's Vulkan driver is on
    // LD_LIBRARY_PATH when the process starts: this re-runs the command with it set when needed,
    // passes SIGINT/SIGTERM on to that child and exits with its status.
    await reexecWithSoftwareAdapter();
  }
  switch (cmd) {
    case 'info': {
      const reports = await probeBackends(args.values.backend as 'auto');
      const soft = softwareOnlyReason();
      const webgpuOk = reports.some((r) => r.name === 'webgpu' && r.ok && !r.info?.adapter?.isFallbackAdapter);
      const auto = { backend: !soft && webgpuOk ? 'webgpu' : 'wasm', reason: soft ?? (webgpuOk ? 'a hardware WebGPU adapter' : 'no hardware WebGPU adapter') };
      if (args.values.json) process.stdout.write(`${JSON.stringify({ version, node: process.version, backends: reports, auto })}\n`);
      else process.stdout.write(`${formatInfo(reports, version, Boolean(args.values.verbose))}\n--backend auto trains on ${auto.backend}: ${auto.reason}\n`);
      return reports.some((r) => r.ok) ? 0 : 1;
    }
    case 'train':
      return runTrain(args);
    case 'eval':
      return runEval(args);
    case 'analyze':
      return runAnalyze(args);
    case 'compare':
      return runCompare(args);
  }
  return 2;
}

/** The backend the checkpoint (or final weights) being resumed or evaluated trained on, if it says. */
function trainedBackend(arg: string): 'wasm' | 'webgpu' | undefined {
  try {
    const b = trainedConfig(arg).backend;
    return b === 'wasm' || b === 'webgpu' ? b : undefined;
  } catch {
    return undefined; // the error is reported by the command itself
  }
}

function oneLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/**
 * Whether this module is the program (not imported by a test). npm runs the command through a link
 * named `pugd` (node_modules/.bin/pugd → dist/cli.js, and `npx pugd`), so the path Node was given is
 * compared with this module's own after resolving links, not by its name.
 */
function isProgram(): boolean {
  const script = typeof process !== 'undefined' ? process.argv[1] : undefined;
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    // A path without its extension (`node dist/cli`) or a bundle without a file URL: go by the name.
    return /(?:^|[/\\])(cli(\.js)?|main\.ts)$/.test(script);
  }
}
/**
 * A reader that goes away (`pugd train … | head -1`, a closed terminal) must not end the work: writes
 * to a closed stdout/stderr fail with EPIPE as an 'error' event, which unhandled would crash the run.
 * They are dropped instead; the run folder still gets everything.
 */
export function ignoreClosedOutput(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
  });
}

const isEntry = isProgram();
if (isEntry) {
  ignoreClosedOutput(process.stdout);
  ignoreClosedOutput(process.stderr);
  main(process.argv.slice(2))
    // A live Dawn device keeps Node running: release it whatever happened.
    .finally(() => disposeBackend('webgpu'))
    .then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      if (e instanceof UsageError || e instanceof InputError || (e as Error)?.name === 'UsageError' || (e as Error)?.name === 'InputError') {
        process.stderr.write(`pugd: error: ${oneLine(e)}\n`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`pugd: error: ${oneLine(e)}\n`);
        if (process.env.PUGD_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
        process.exitCode = 1;
      }
    },
  );
}
