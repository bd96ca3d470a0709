// `npm run web`: serves the training page on 127.0.0.1 with the headers that make it cross-origin
// isolated (COOP same-origin + COEP require-corp), which WASM threads need (SharedArrayBuffer).
// Serves only a fixed list of files: web/index.html and web/style.css, the page's bundles from
// dist/web/ and the engine's browser bundle dist/pugd.browser.js (npm run web builds them first).
//
// Usage: node web/serve.mjs [--port N]   (PORT also works; default 8080; 0 picks a free port)
// Also a module: `startServer({ port })` for tests, resolving to { url, close() }.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** URL path → file, and its type. Nothing else is served. */
const FILES = {
  '/': ['web/index.html', 'text/html; charset=utf-8'],
  '/index.html': ['web/index.html', 'text/html; charset=utf-8'],
  '/style.css': ['web/style.css', 'text/css; charset=utf-8'],
  '/app.js': ['dist/web/app.js', 'text/javascript; charset=utf-8'],
  '/app.js.map': ['dist/web/app.js.map', 'application/json'],
  '/worker.js': ['dist/web/worker.js', 'text/javascript; charset=utf-8'],
  '/worker.js.map': ['dist/web/worker.js.map', 'application/json'],
  '/pugd.browser.js': ['dist/pugd.browser.js', 'text/javascript; charset=utf-8'],
  '/pugd.browser.js.map': ['dist/pugd.browser.js.map', 'application/json'],
};

export const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/**
 * Starts the server. `isolate: false` leaves out COOP/COEP (to see the single-threaded path).
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export function startServer({ port = 8080, host = '127.0.0.1', isolate = true } = {}) {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const entry = FILES[path];
    if (path === '/favicon.ico') {
      res.statusCode = 204; // none: keeps the browser console free of a 404
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(HEADERS)) {
      if (isolate || (k !== 'Cross-Origin-Opener-Policy' && k !== 'Cross-Origin-Embedder-Policy')) res.setHeader(k, v);
    }
    if (!entry || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.statusCode = entry ? 405 : 404;
      res.end(entry ? 'method not allowed' : `not found: ${path}`);
      return;
    }
    try {
      const body = await readFile(join(root, entry[0]));
      res.setHeader('Content-Type', entry[1]);
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      res.statusCode = 500;
      res.end(`${entry[0]}: ${e.code === 'ENOENT' ? 'not built yet (run npm run build, or npm run web, which builds first)' : e.message}`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: p } = server.address();
      resolve({ url: `http://${host}:${p}/`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--port');
  const given = i > 0 ? process.argv[i + 1] : process.env.PORT;
  const what = i > 0 ? '--port' : 'PORT';
  const port = given === undefined ? (i > 0 ? NaN : 8080) : /^\d{1,5}$/.test(given) ? Number(given) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    console.error(`web: ${what} ${given === undefined ? 'needs a value' : `'${given}'`}: expected a port number 0–65535 (0 picks a free one)`);
    process.exit(2);
  }
  try {
    const { url } = await startServer({ port });
    console.log(`pugd training page: ${url}  (cross-origin isolated: COOP/COEP sent; Ctrl-C stops)`);
  } catch (e) {
    console.error(`web: cannot listen on 127.0.0.1:${port}: ${e.message}${e.code === 'EADDRINUSE' ? ' (choose another with --port N)' : ''}`);
    process.exit(1);
  }
}
