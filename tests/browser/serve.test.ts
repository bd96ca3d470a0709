// `npm run web`'s server (web/serve.mjs) as a command: a bad --port or PORT is one line naming it, exit 2.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';

const serve = new URL('../../web/serve.mjs', import.meta.url).pathname;
const run = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [serve, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  return { code: r.status, stderr: r.stderr.trim() };
};

describe('web/serve.mjs', () => {
  it('refuses a port that is not a number 0–65535, naming it', () => {
    for (const [args, env, want] of [
      [['--port', 'abc'], {}, "web: --port 'abc': expected a port number 0–65535 (0 picks a free one)"],
      [['--port', '70000'], {}, "web: --port '70000': expected a port number 0–65535 (0 picks a free one)"],
      [['--port', '-1'], {}, "web: --port '-1': expected a port number 0–65535 (0 picks a free one)"],
      [['--port'], {}, 'web: --port needs a value: expected a port number 0–65535 (0 picks a free one)'],
      [[], { PORT: '80a' }, "web: PORT '80a': expected a port number 0–65535 (0 picks a free one)"],
    ] as [string[], Record<string, string>, string][]) {
      const r = run(args, env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toBe(want);
    }
  });
});
