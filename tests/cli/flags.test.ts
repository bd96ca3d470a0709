// No message of pugd names a flag that does not exist (issue 15 item 4: one suggested `--init-weights`):
// every `--flag` in a string of the CLI, the data sets, the engine and the models (error messages, help
// text, log lines), read with the TypeScript parser so comments do not count, is an option of some
// `pugd` command, or one of the few Node flags the code passes on (listed below with where).
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { commands, topHelp } from '../../cli/commands.js';
import { formatHelp } from '../../cli/args.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Node's own flags that appear in strings: datasets/loader.ts drops --input-type from a worker's execArgv.
const NODE_FLAGS = new Set(['--input-type']);
const FLAG = /(?<![\w-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)/g;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'generated' ? [] : sources(p);
    return f.endsWith('.ts') && !f.endsWith('.d.ts') ? [p] : [];
  });
}

/** The text of every string literal and template piece in a file, with its line. */
function strings(file: string): { text: string; line: number }[] {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: { text: string; line: number }[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateHead(n) || ts.isTemplateMiddle(n) || ts.isTemplateTail(n)) {
      out.push({ text: n.text, line: src.getLineAndCharacterOfPosition(n.getStart()).line + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return out;
}

describe('flags named in messages and help', () => {
  const known = new Set(['--help', '--version', ...Object.values(commands).flatMap((c) => c.options.map((o) => `--${o.name}`))]);

  it('every --flag in a string of cli/, datasets/, engine/ and models/ is an option of pugd', () => {
    const files = ['cli', 'datasets', 'engine', 'models'].flatMap((d) => sources(join(root, d)));
    expect(files.length).toBeGreaterThan(30);
    const unknown: string[] = [];
    let named = 0;
    for (const f of files) {
      for (const s of strings(f)) {
        for (const m of s.text.matchAll(FLAG)) {
          named++;
          if (!known.has(m[0]) && !NODE_FLAGS.has(m[0])) unknown.push(`${f.slice(root.length)}:${s.line}: ${m[0]} in ${JSON.stringify(s.text.slice(0, 120))}`);
        }
      }
    }
    // The messages name flags often (--data, --backend, --resume, …): the scan sees them.
    expect(named).toBeGreaterThan(50);
    expect(unknown, unknown.join('\n')).toEqual([]);
  });

  it('every --flag in the help of each command exists', () => {
    const texts = [topHelp('0'), ...Object.values(commands).map(formatHelp)];
    for (const t of texts) for (const m of t.matchAll(FLAG)) expect(known.has(m[0]), `${m[0]} in help`).toBe(true);
  });

  it('the scan finds a flag that does not exist', () => {
    expect([...'resume with --init-weights or --lr'.matchAll(FLAG)].map((m) => m[0]).filter((f) => !known.has(f))).toEqual(['--init-weights']);
  });
});
