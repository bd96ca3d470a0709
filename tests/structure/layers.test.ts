// The import structure: no import cycles anywhere in the tree (type-only imports included: a type
// cycle is still two files that must change together), and no up-arrow between the layers of the
// product code below. A file may import its own layer or the layers under it, never one above.
// Adding a file outside every layer is fine (tests, benches, scripts are unconstrained, but still
// cycle-free); a product file outside every layer is an error, so the table stays complete.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** The layers, lowest first: path prefixes (a folder ends in '/'). */
const LAYERS: readonly (readonly [string, readonly string[]])[] = [
  ['engine base', ['engine/util/', 'engine/generated/', 'engine/shape.ts', 'engine/kernel.ts']],
  ['engine core', ['engine/profiler.ts', 'engine/backend.ts', 'engine/random.ts', 'engine/step_context.ts', 'engine/tensor.ts', 'engine/autograd.ts']],
  ['engine ops', ['engine/ops/', 'engine/create.ts']],
  ['engine nn, optim, io, backends', ['engine/nn/', 'engine/optim/', 'engine/io/', 'engine/backends/']],
  ['engine entry', ['engine/index.ts', 'engine/node.ts']],
  ['models, datasets', ['models/', 'datasets/']],
  ['package entry', ['index.ts', 'node.ts', 'browser.ts']],
  ['cli, web', ['cli/', 'web/']],
];
/** Product folders: every file in them must belong to a layer. */
const PRODUCT = ['engine/', 'models/', 'datasets/', 'cli/', 'web/'];
/** Folders scanned for imports (cycles are checked over all of them). */
const SCANNED = ['engine', 'models', 'datasets', 'cli', 'web', 'bench', 'tests', 'scripts'];
const SOURCE = /\.(ts|mts|mjs)$/;

function layerOf(f: string): number {
  return LAYERS.findIndex(([, prefixes]) => prefixes.some((p) => (p.endsWith('/') ? f.startsWith(p) : f === p)));
}

function walk(dir: string, out: string[]): void {
  if (!existsSync(join(root, dir))) return;
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) walk(p, out);
    else if (SOURCE.test(e.name) && !e.name.endsWith('.d.mts')) out.push(p);
  }
}

function sourceFiles(): string[] {
  const files: string[] = [];
  for (const d of SCANNED) walk(d, files);
  for (const e of readdirSync(root)) if (SOURCE.test(e) && statSync(join(root, e)).isFile()) files.push(e);
  return files.sort();
}

/** The file a relative specifier names (`./x.js` is `./x.ts` on disk), or null for packages. */
function resolveSpec(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = relative(root, join(root, dirname(from), spec)).split('\\').join('/');
  const stem = base.replace(/\.(js|mjs|ts|mts)$/, '');
  for (const c of [base, `${stem}.ts`, `${stem}.mts`, `${stem}.mjs`, `${base}/index.ts`]) {
    if (existsSync(join(root, c)) && statSync(join(root, c)).isFile()) return c;
  }
  return null;
}

/** Every module `file` names: static imports and re-exports (type-only too), import() and import types. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const specs: string[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) specs.push(n.moduleSpecifier.text);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) specs.push(n.arguments[0].text);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) specs.push(n.argument.literal.text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return [...new Set(specs.map((s) => resolveSpec(file, s)).filter((f): f is string => f !== null))];
}

/** Strongly connected components with more than one file (or a file importing itself), as cycles. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) strong(v);
  return out;
}

/** One concrete path around a cycle, for the message: a → b → … → a. */
function cyclePath(graph: Map<string, string[]>, comp: string[]): string {
  const inComp = new Set(comp);
  const start = comp[0];
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!inComp.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.splice(1, 0, u);
        return [...path, start].join(' → ');
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return comp.join(', ');
}

const files = sourceFiles();
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('import structure', () => {
  it('sees the tree (the scan is not vacuous)', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(graph.get('engine/ops/relu.ts')).toContain('engine/kernel.ts');
    expect(graph.get('cli/main.ts')!.some((f) => f.startsWith('engine/'))).toBe(true);
  });

  it('every product file belongs to a layer', () => {
    const orphans = files.filter((f) => PRODUCT.some((p) => f.startsWith(p)) && layerOf(f) < 0);
    expect(orphans, 'add them to LAYERS in tests/structure/layers.test.ts').toEqual([]);
  });

  it('no import goes up a layer', () => {
    const up: string[] = [];
    for (const [from, tos] of graph) {
      const lf = layerOf(from);
      if (lf < 0) continue;
      for (const to of tos) {
        const lt = layerOf(to);
        if (lt > lf) up.push(`${from} (${LAYERS[lf][0]}) imports ${to} (${LAYERS[lt][0]})`);
      }
    }
    expect(up).toEqual([]);
  });

  it('no import cycle', () => {
    expect(cycles(graph).map((c) => `cycle through ${c.length} files (${c.join(', ')}), e.g. ${cyclePath(graph, c)}`)).toEqual([]);
  });
});
