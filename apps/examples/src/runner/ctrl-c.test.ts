// Ctrl-C on the documented commands, `npm run examples serve` and `pnpm examples serve`
// (review D5): the terminal sends SIGINT to the whole foreground process group, the
// package manager, scripts/bootstrap.mjs, pnpm and the service alike. The command must
// end only after the service has closed, with status 0, leaving no process behind.
// These are the Node wrappers of the repository, so this runs where they run: on Node.
import { execFileSync, spawn } from 'node:child_process';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const isNode =
  typeof (globalThis as { Bun?: unknown }).Bun === 'undefined' &&
  typeof (globalThis as { Deno?: unknown }).Deno === 'undefined';
const posix = process.platform !== 'win32';

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The processes of the command's group still running when it exited. */
  leftBehind: string[];
  output: string;
}

/**
 * The processes of process group `pgid` that still run (zombies aside: a child a tool
 * left to be reaped by init, e.g. turbo's `git`, has ended).
 */
function liveProcessesIn(pgid: number): string[] {
  return execFileSync('ps', ['-eo', 'pgid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(
      ([group, stat]) => group === String(pgid) && stat !== undefined && !stat.startsWith('Z'),
    )
    .map((fields) => fields.slice(2).join(' '));
}

function userPath(): string {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !/node_modules[\\/]\.bin$/.test(dir))
    .join(delimiter);
}

/** Starts `command` in a process group of its own, Ctrl-C's it once serving, and waits. */
function interruptWhenServing(command: string, args: string[]): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      detached: true, // its own process group, as a terminal's foreground job
      stdio: ['ignore', 'pipe', 'pipe'],
      // A user's shell: without the workspace's node_modules/.bin, which the test runner
      // put first on PATH (there `npm` and `pnpm` would start through the `node` shim).
      env: { ...process.env, PATH: userPath(), PORT: '0', FORCE_COLOR: '0' },
    });
    let output = '';
    let sent = false;
    let ended: Omit<Ended, 'output'> | undefined;
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (!sent && output.includes('Ctrl-C stops it.')) {
        sent = true;
        process.kill(-(child.pid as number), 'SIGINT');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const leftBehind = liveProcessesIn(child.pid as number);
      ended = { code, signal, leftBehind };
      // Whatever survived (the service, before the fix) must not outlive the test.
      if (leftBehind.length > 0) {
        setTimeout(() => {
          try {
            process.kill(-(child.pid as number), 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }, 2000);
      }
    });
    child.on('close', () => resolve({ ...(ended as Omit<Ended, 'output'>), output }));
  });
}

describe.skipIf(!isNode || !posix)('Ctrl-C on the examples service (review D5)', () => {
  for (const [name, command, args] of [
    ['npm run examples serve', 'npm', ['run', '--silent', 'examples', 'serve', '--', '--quiet']],
    ['pnpm examples serve', 'pnpm', ['--silent', 'examples', 'serve', '--quiet']],
  ] as const) {
    test(`${name}: exits with 0 after the service closed, leaving no process behind`, async () => {
      const ended = await interruptWhenServing(command, [...args]);
      expect(ended.output).toContain('Ctrl-C stops it.');
      expect(ended.output).toContain('stopped: server closed');
      expect(ended.output).not.toContain('ELIFECYCLE');
      expect({ code: ended.code, signal: ended.signal, leftBehind: ended.leftBehind }).toEqual({
        code: 0,
        signal: null,
        leftBehind: [],
      });
    }, 120_000);
  }
});
