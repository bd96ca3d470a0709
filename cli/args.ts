// Command-line parsing for `pugd`: declared options with types, ranges and help text; `--name value`
// and `--name=value`; booleans as bare flags. Every mistake (unknown option, missing or bad value,
// stray argument) is a UsageError with one line naming the option and what was expected, which
// main.ts prints and turns into exit code 2. No Node built-ins (the parser is plain data + strings).

export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A problem with the user's input that is not a flag (missing data, unreadable checkpoint): exit code 2. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

interface OptionBase {
  /** Long name without dashes: 'batch-size'. */
  name: string;
  help: string;
  /** Placeholder shown in help: `--lr LR`. */
  metavar?: string;
  /** Section heading in --help. */
  group?: string;
}
export interface StringOption extends OptionBase { type: 'string'; default?: string }
export interface ChoiceOption extends OptionBase { type: 'choice'; choices: readonly string[]; default?: string }
export interface NumberOption extends OptionBase {
  type: 'number' | 'int';
  default?: number;
  min?: number;
  /** Exclusive lower bound (lr > 0). */
  gt?: number;
  max?: number;
  /** Exclusive upper bound (momentum < 1). */
  lt?: number;
}
export interface FlagOption extends OptionBase { type: 'flag' }
export type OptionSpec = StringOption | ChoiceOption | NumberOption | FlagOption;

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec[];
  /** Extra paragraphs after the options. */
  epilog?: string;
}

export type ParsedValue = string | number | boolean;
/** Values by option name; `given` lists the options the user typed (defaults are not in it). */
export interface Parsed {
  values: Record<string, ParsedValue | undefined>;
  given: Set<string>;
  help: boolean;
}

/** Edit distance with transpositions (optimal string alignment), for "did you mean" hints. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      // A swap of two neighbours counts once (trian → train).
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest of `candidates` to `word`, if it is close enough to be a likely typo. */
export function suggest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const dd = distance(word, c);
    if (dd < bestD) {
      bestD = dd;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : null;
}

function convert(cmd: string, o: OptionSpec, raw: string): ParsedValue {
  const flag = `--${o.name}`;
  switch (o.type) {
    case 'string':
      if (raw === '') throw new UsageError(`${flag} needs a non-empty value`, cmd);
      return raw;
    case 'choice': {
      if (o.choices.includes(raw)) return raw;
      const s = suggest(raw, o.choices);
      throw new UsageError(`${flag}: '${raw}' is not one of ${o.choices.join(', ')}${s ? ` (did you mean '${s}'?)` : ''}`, cmd);
    }
    case 'number':
    case 'int': {
      const v = raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(v)) throw new UsageError(`${flag}: '${raw}' is not a number`, cmd);
      if (o.type === 'int' && !Number.isInteger(v)) throw new UsageError(`${flag}: '${raw}' is not a whole number`, cmd);
      if (o.min !== undefined && v < o.min) throw new UsageError(`${flag}: ${raw} is below the minimum ${o.min}`, cmd);
      if (o.gt !== undefined && v <= o.gt) throw new UsageError(`${flag}: ${raw} must be greater than ${o.gt}`, cmd);
      if (o.max !== undefined && v > o.max) throw new UsageError(`${flag}: ${raw} is above the maximum ${o.max}`, cmd);
      if (o.lt !== undefined && v >= o.lt) throw new UsageError(`${flag}: ${raw} must be less than ${o.lt}`, cmd);
      return v;
    }
    case 'flag':
      throw new Error('unreachable');
  }
}

/**
 * Parses the arguments after the command name.
 *
 * @example
 *   parseArgs(trainSpec, ['--lr', '0.05', '--epochs=3', '--json'])
 */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): Parsed {
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const values: Record<string, ParsedValue | undefined> = {};
  const given = new Set<string>();
  let help = false;
  for (const o of spec.options) if (o.type !== 'flag') values[o.name] = o.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (!a.startsWith('--') || a === '--') {
      throw new UsageError(`unexpected argument '${a}' (options start with --; see pugd ${spec.name} --help)`, spec.name);
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const o = byName.get(name);
    if (!o) {
      const s = suggest(name, [...byName.keys()]);
      throw new UsageError(`unknown option '--${name}' for 'pugd ${spec.name}'${s ? ` (did you mean --${s}?)` : ''}; see pugd ${spec.name} --help`, spec.name);
    }
    if (given.has(name)) throw new UsageError(`--${name} is given twice`, spec.name);
    given.add(name);
    if (o.type === 'flag') {
      if (eq >= 0) throw new UsageError(`--${name} is a flag and takes no value`, spec.name);
      values[name] = true;
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = a.slice(eq + 1);
    else {
      // A following `--x` is the next option, not a value (negative numbers are written -0.5, not --0.5).
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) {
        throw new UsageError(`--${name} needs a value (${o.metavar ?? (o.type === 'choice' ? o.choices.join('|') : o.type === 'string' ? 'TEXT' : 'N')})`, spec.name);
      }
      raw = argv[++i];
    }
    values[name] = convert(spec.name, o, raw);
  }
  for (const o of spec.options) if (o.type === 'flag' && values[o.name] === undefined) values[o.name] = false;
  return { values, given, help };
}

function wrap(text: string, width: number, indent: number): string {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** The --help text of one command. */
export function formatHelp(spec: CommandSpec): string {
  const out: string[] = [`Usage: ${spec.usage}`, '', spec.summary, ''];
  const col = 30;
  let group: string | undefined;
  for (const o of spec.options) {
    if (o.group && o.group !== group) {
      group = o.group;
      out.push(`${group}:`);
    }
    const meta = o.type === 'flag' ? '' : ` ${o.metavar ?? (o.type === 'choice' ? o.choices.join('|') : o.type === 'string' ? 'TEXT' : 'N')}`;
    const head = `  --${o.name}${meta}`;
    const def = o.type !== 'flag' && o.default !== undefined ? ` (default ${o.default})` : '';
    const body = wrap(o.help + def, 100 - col, col);
    out.push(head.length < col - 1 ? head.padEnd(col) + body : `${head}\n${' '.repeat(col)}${body}`);
  }
  out.push(`  --help${' '.repeat(col - 8)}show this help`);
  if (spec.epilog) out.push('', spec.epilog);
  return out.join('\n');
}
