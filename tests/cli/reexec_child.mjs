// A script that re-runs itself with the software adapter, as `pugd` does (reexecWithSoftwareAdapter),
// for tests/cli/signals.test.ts. The re-run child prints its PID and its parent's, then waits; on
// SIGTERM or SIGINT it prints which one and exits 7 (SIGTERM) or 8 (SIGINT).
import { reexecWithSoftwareAdapter } from '../../dist/index.js';

const d = await reexecWithSoftwareAdapter();
if (!d.software) {
  process.stdout.write(`no re-exec: ${d.reason}\n`);
  process.exit(3);
}
process.on('SIGTERM', () => {
  process.stdout.write('child got SIGTERM\n');
  process.exit(7);
});
process.on('SIGINT', () => {
  process.stdout.write('child got SIGINT\n');
  process.exit(8);
});
process.stdout.write(`child ${process.pid} of ${process.ppid}\n`);
setInterval(() => {}, 1000);
