// `npm run bench`: runs every bench/*.bench.mjs in turn (each prints JSON lines) with the arguments
// given after `--` (e.g. `npm run bench -- --backend webgpu`).
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
let failed = 0;
for (const f of readdirSync(dir).filter((n) => n.endsWith('.bench.mjs')).sort()) {
  const r = spawnSync(process.execPath, [join(dir, f), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench: ${f} exited with ${r.status}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
