// Re-points code links in the docs after code moved: a link [`code`](../path#Ln) whose line n no
// longer holds `code` is moved to the one line of that file that does (the nearest one to n when the
// quoted code occurs more than once). Links whose code is gone are listed and left alone: the text
// needs a human. tests/optim/docs.test.ts fails on stale links; this script fixes the mechanical ones.
// Usage: node scripts/relink_docs.mjs [docs/pugd.md ...]
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const docs = process.argv.slice(2).length ? process.argv.slice(2) : ['docs/pugd.md'];
let moved = 0;
const lost = [];
for (const doc of docs) {
  const docPath = resolve(root, doc);
  const text = readFileSync(docPath, 'utf8');
  const out = text.replace(/\[`([^`]+)`\]\((\.\.\/[^#)]+)#L(\d+)\)/g, (all, code, rel, line) => {
    const file = resolve(dirname(docPath), rel);
    if (!existsSync(file)) {
      lost.push(`${doc}: ${rel} does not exist`);
      return all;
    }
    const lines = readFileSync(file, 'utf8').split('\n');
    const n = Number(line);
    if ((lines[n - 1] ?? '').includes(code)) return all;
    const hits = lines.map((l, i) => (l.includes(code) ? i + 1 : -1)).filter((i) => i > 0);
    if (hits.length === 0) {
      lost.push(`${doc}: \`${code}\` is no longer in ${rel}`);
      return all;
    }
    const best = hits.reduce((a, b) => (Math.abs(b - n) < Math.abs(a - n) ? b : a));
    moved++;
    return `[\`${code}\`](${rel}#L${best})`;
  });
  if (out !== text) writeFileSync(docPath, out);
}
console.log(`relink_docs: ${moved} link(s) moved`);
for (const l of lost) console.log(`relink_docs: needs a human: ${l}`);
process.exit(lost.length ? 1 : 0);
