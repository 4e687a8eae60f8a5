import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { CancelledError, TimeoutError } from './errors.ts';
import { gather } from './gather.ts';
import { run } from './run.ts';
import { scope } from './scope.ts';
import { sleep } from './sleep.ts';
import { TestClock } from './test-clock.ts';

const fixture = fileURLToPath(new URL('../test/fixtures/run-signals.mjs', import.meta.url));
const isDeno = typeof (globalThis as { Deno?: unknown }).Deno === 'object';

interface Child {
  lines: string[];
  waitFor(line: string): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

interface DenoChild {
  stdout: ReadableStream<Uint8Array>;
  kill(signal: string): void;
  status: Promise<{ code: number; signal: string | null }>;
}
interface DenoApi {
  Command: new (
    cmd: string,
    options: { args: string[]; stdout: 'piped'; stderr: 'inherit'; stdin: 'null' },
  ) => { spawn(): DenoChild };
}

/**
 * Starts the fixture on the runtime running this test (Node, Bun or Deno). Deno goes
 * through Deno.Command: its node:child_process polyfill reports a child it signalled as
 * killed by that signal, whatever its real exit code, and fires 'exit' before stdout ends.
 */
function startChild(mode: string): Child {
  const lines: string[] = [];
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  let buffer = '';
  const onText = (chunk: string): void => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of waiters.filter((x) => x.line === line)) w.resolve();
    }
  };
  let exit: Child['exit'];
  let kill: Child['kill'];
  if (isDeno) {
    const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
    const child = new deno.Command(process.execPath, {
      args: ['run', '-A', fixture, mode],
      stdout: 'piped',
      stderr: 'inherit',
      stdin: 'null',
    }).spawn();
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) onText(decoder.decode(chunk, { stream: true }));
    })();
    exit = Promise.all([child.status, reading]).then(([status]) => ({
      code: status.signal === null ? status.code : null,
      signal: status.signal as NodeJS.Signals | null,
    }));
    kill = (signal) => child.kill(signal);
  } else {
    const child = spawn(process.execPath, [fixture, mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', onText);
    exit = new Promise((resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal }));
    });
    kill = (signal) => child.kill(signal);
  }
  return {
    lines,
    exit,
    kill,
    waitFor: (line) =>
      lines.includes(line)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ line, resolve });
            void exit.then(() =>
              reject(new Error(`child exited before "${line}": ${lines.join(' | ')}`)),
            );
          }),
  };
}

describe('run', () => {
  test('returns main’s value and passes the clock to every task', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const value = await run(
      async (ctx) => {
        expect(ctx.clock).toBe(clock);
        const [a, b] = await gather([() => sleep(1000).then(() => 1), () => 2]);
        return a + b;
      },
      { clock, handleSignals: false },
    );
    expect(value).toBe(3);
    expect(clock.now()).toBe(1000);
  });

  test('a failing main rejects with its error itself', async () => {
    const failure = new Error('main failed');
    await expect(
      run(
        async () => {
          throw failure;
        },
        { handleSignals: false },
      ),
    ).rejects.toBe(failure);
  });

  test('waits for tasks that main spawned into its scope', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const done: string[] = [];
    await run(
      ({ scope: root }) => {
        root.spawn(async () => {
          await sleep(500);
          done.push('background');
        });
      },
      { clock, handleSignals: false },
    );
    expect(done).toEqual(['background']);
  });

  test('calling run inside a running run throws a clear error; independent runs are fine', async () => {
    await run(
      async () => {
        await expect(run(async () => 1)).rejects.toThrow(/inside a running run\(\)/);
        await scope(async (s) => {
          s.spawn(async () => {
            await expect(run(async () => 1)).rejects.toThrow(/await the async function directly/);
          });
        });
      },
      { handleSignals: false },
    );
    const both = await Promise.all([
      run(async () => 'a', { handleSignals: false }),
      run(async () => 'b', { handleSignals: false }),
    ]);
    expect(both).toEqual(['a', 'b']);
  });

  test('timeout option and outer signal', async () => {
    const clock = new TestClock({ autoAdvance: true });
    await expect(
      run(() => sleep(100), { clock, timeout: 10, handleSignals: false }),
    ).rejects.toBeInstanceOf(TimeoutError);
    const controller = new AbortController();
    const reason = new CancelledError('embedder stopped us');
    const running = run(() => sleep(100), { signal: controller.signal, handleSignals: false });
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
  });

  test('bad input', async () => {
    await expect(run('main' as never)).rejects.toThrow(/`main`.*`main` \(string\)/);
    await expect(run(() => 1, { timeout: -1 })).rejects.toThrow(RangeError);
    await expect(run(() => 1, { handleSignals: 'no' as never })).rejects.toThrow(TypeError);
  });

  test('SIGINT cancels the root scope, waits for cleanup, and exits 130', async () => {
    const child = startChild('graceful');
    await child.waitFor('ready');
    child.kill('SIGINT');
    const { code } = await child.exit;
    expect(child.lines).toEqual([
      'ready',
      'cleanup started',
      'cleanup done',
      'rejected AbortError: Received SIGINT: the program was cancelled',
    ]);
    expect(code).toBe(130);
  }, 20_000);

  test('SIGTERM does the same with exit code 143', async () => {
    const child = startChild('graceful');
    await child.waitFor('ready');
    child.kill('SIGTERM');
    const { code } = await child.exit;
    expect(child.lines.at(-1)).toBe(
      'rejected AbortError: Received SIGTERM: the program was cancelled',
    );
    expect(code).toBe(143);
  }, 20_000);

  test('a second SIGINT exits at once with 130, without waiting for cleanup', async () => {
    const child = startChild('stubborn');
    await child.waitFor('ready');
    child.kill('SIGINT');
    await child.waitFor('cleanup started');
    child.kill('SIGINT');
    const { code } = await child.exit;
    expect(child.lines).toEqual(['ready', 'cleanup started']);
    expect(code).toBe(130);
  }, 20_000);

  test('removes its signal handlers when it settles', async () => {
    const child = startChild('normal');
    await child.waitFor('ready');
    expect(child.lines).toEqual(['value value', 'listeners 0', 'ready']);
    child.kill('SIGINT');
    const { code, signal } = await child.exit;
    // No handler left: the default action ends the process by the signal itself.
    expect(signal === 'SIGINT' || code === 130).toBe(true);
    expect(child.lines).not.toContain('still alive');
  }, 20_000);
});
