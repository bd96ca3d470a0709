// Browser smoke test of the datasets API (not part of npm test: it needs Chromium — Debian's
// `chromium` package). Serves the project on 127.0.0.1, loads dist/pugd.browser.js in headless
// Chromium, and checks there what Node computes here: a JPEG decode, ImageFolder read from a tar.gz
// given as a Blob and as a URL, and a DataLoader batch assembled by 2 Web Workers (bit-identical to
// Node's, and to 0 workers). Run twice: cross-origin isolated (SharedArrayBuffer store) and not
// (store copied to workers). Also: a File[] directory pick, and decodeImage before ready().
// Usage: npm run build && node scripts/browser_smoke.mjs
import { createServer } from 'node:http';
import { readFile, mkdtemp, rm, mkdir, copyFile } from 'node:fs/promises';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { datasets, setBackend, setBackendLogger } = await import(join(root, 'dist/index.js'));
const F = join(root, 'tests/fixtures/images');
const tmp = await mkdtemp(join(tmpdir(), 'pugd-smoke-'));
const FILES = [['cat', 'baseline_420.jpg'], ['cat', 'rgb_8_filter4.png'], ['dog', 'progressive_444.jpg'], ['dog', 'gray.jpg']];
const PICK = FILES.map(([cls, f]) => [`folder/${cls}/${f}`, f]);
for (const [cls, f] of FILES) {
  await mkdir(join(tmp, 'folder', cls), { recursive: true });
  await copyFile(join(F, f), join(tmp, 'folder', cls, f));
}
execFileSync('tar', ['-czf', join(tmp, 'folder.tar.gz'), '-C', tmp, 'folder']);

// What Node says.
setBackendLogger(null);
await setBackend('wasm');
const hash = (a) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex').slice(0, 16);
const img = datasets.decodeImage(await readFile(join(F, 'progressive_420.jpg')));
const ds = await datasets.imageFolder(await readFile(join(tmp, 'folder.tar.gz')));
const opts = { batchSize: 3, seed: 5, augment: { padding: 2, flip: true, mean: [0.5], std: [0.25] }, size: [16, 16], channels: 3 };
const loader = new datasets.DataLoader(ds, { ...opts, workers: 0 });
const nb = await loader.next();
const expected = { decode: [img.width, img.height, img.channels, hash(img.data)], classes: ds.classes, n: ds.length, batch: [nb.x.shape, hash(await nb.x.toArray()), [...(await nb.y.data())]] };

const page = `<!doctype html><meta charset=utf-8><body>running<script type=module>
import { setBackend, datasets, setBackendLogger } from '/dist/pugd.browser.js';
const out = { isolated: self.crossOriginIsolated };
const hash = async (a) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', a))].map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, 16);
try {
  // Before ready(): a synchronous compile on the main thread (Chromium allows modules this size).
  try {
    out.syncBeforeReady = datasets.decodeImage(new Uint8Array(await (await fetch('/F/gray.jpg')).arrayBuffer())).width;
  } catch (e) {
    out.syncBeforeReady = e.message;
  }
  await datasets.ready();
  setBackendLogger(null);
  await setBackend('wasm');
  const img = datasets.decodeImage(new Uint8Array(await (await fetch('/F/progressive_420.jpg')).arrayBuffer()));
  out.decode = [img.width, img.height, img.channels, await hash(img.data)];
  const blob = new Blob([await (await fetch('/T/folder.tar.gz')).arrayBuffer()]);
  const ds = await datasets.imageFolder(blob);
  const ds2 = await datasets.imageFolder('/T/folder.tar.gz');
  out.classes = ds.classes;
  out.n = ds.length;
  out.urlSame = ds2.length === ds.length;
  // A directory pick: File objects with webkitRelativePath (set by <input webkitdirectory>).
  const files = [];
  for (const [path, f] of ${JSON.stringify(PICK)}) {
    const file = new File([await (await fetch('/F/' + f)).arrayBuffer()], f.split('/').pop());
    Object.defineProperty(file, 'webkitRelativePath', { value: path });
    files.push(file);
  }
  const picked = await datasets.imageFolder(files);
  out.picked = [picked.classes, picked.length];
  const opts = ${JSON.stringify(opts)};
  const run = async (workers) => { const l = new datasets.DataLoader(ds, { ...opts, workers }); const b = await l.next(); const r = [b.x.shape, await hash(await b.x.toArray()), [...(await b.y.data())]]; b.x.dispose(); b.y.dispose(); l.close(); return r; };
  out.batch = await run(2);
  out.batch0 = await run(0);
  try { datasets.decodeImage(new Uint8Array([1, 2, 3])); } catch (e) { out.error = e.message; }
} catch (e) { out.fatal = String(e && e.stack || e); }
await fetch('/result', { method: 'POST', body: JSON.stringify(out) });
</script>`;

const types = { '.js': 'text/javascript', '.jpg': 'image/jpeg', '.gz': 'application/gzip', '.map': 'application/json' };
let isolate = false;
let onResult = null;
const server = createServer(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  const headers = isolate ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
  try {
    if (u.pathname === '/result' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      res.writeHead(204).end();
      onResult?.(JSON.parse(body));
      return;
    }
    if (u.pathname === '/smoke.html') return res.writeHead(200, { 'content-type': 'text/html', ...headers }).end(page);
    const file = u.pathname.startsWith('/F/') ? join(F, u.pathname.slice(3)) : u.pathname.startsWith('/T/') ? join(tmp, u.pathname.slice(3)) : u.pathname.startsWith('/dist/') ? join(root, u.pathname) : null;
    if (!file) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', ...headers }).end(await readFile(file));
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;

/** Opens the page in headless Chromium and waits (60 s at most) for it to POST its results. */
function chromium() {
  return new Promise((resolve, reject) => {
    const dir = join(tmp, `profile-${Date.now()}`);
    const p = spawn('chromium', ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${dir}`, `http://127.0.0.1:${port}/smoke.html`], { stdio: 'ignore' });
    const timer = setTimeout(() => {
      onResult = null;
      p.kill('SIGKILL');
      reject(new Error('no result from Chromium within 60 s'));
    }, 60_000);
    onResult = (r) => {
      clearTimeout(timer);
      onResult = null;
      p.kill('SIGKILL');
      resolve(r);
    };
  });
}

let failed = 0;
for (const iso of [true, false]) {
  isolate = iso;
  const got = await chromium();
  const checks = {
    'cross-origin isolation as served': got.isolated === iso,
    'decodeImage (JPEG) equals Node': JSON.stringify(got.decode) === JSON.stringify(expected.decode),
    'imageFolder from a Blob (tar.gz)': JSON.stringify([got.classes, got.n]) === JSON.stringify([expected.classes, expected.n]),
    'imageFolder from a URL': got.urlSame === true,
    'imageFolder from a File[] directory pick': JSON.stringify(got.picked) === JSON.stringify([expected.classes, expected.n]),
    'decodeImage before ready() (sync compile on the main thread)': got.syncBeforeReady === 37,
    'DataLoader, 2 Web Workers, equals Node': JSON.stringify(got.batch) === JSON.stringify(expected.batch),
    'DataLoader, 0 workers, equals Node': JSON.stringify(got.batch0) === JSON.stringify(expected.batch),
    'bad input → named error': /^image: not a JPEG or PNG file/.test(got.error ?? ''),
  };
  for (const [k, ok] of Object.entries(checks)) {
    console.log(`${ok ? 'ok  ' : 'FAIL'} [${iso ? 'isolated' : 'not isolated'}] ${k}`);
    if (!ok) failed++;
  }
  if (got.fatal) console.log(got.fatal);
}
server.close();
await rm(tmp, { recursive: true, force: true });
console.log(failed ? `${failed} failed` : 'browser smoke test passed');
process.exit(failed ? 1 : 0);
