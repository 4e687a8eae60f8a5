import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from '../test/child.ts';
import { collectWarnings, countingController } from '../test/helpers.ts';
import { CancelledError, TaskGroupError } from './errors.ts';
import { scope } from './scope.ts';
import { runInWorker, WorkerError, WorkerPool } from './worker.ts';

const fns = new URL('../test/fixtures/worker-fns.mjs', import.meta.url);
const broken = new URL('../test/fixtures/worker-broken.mjs', import.meta.url);

const onDeno = 'Deno' in globalThis;
// A busy worker stops at once on Node and Bun (a thread) and on Deno (a child process
// killed with SIGKILL); the guard only keeps a broken build from hanging the run.
const STOP_TIMEOUT = 20_000;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const spinDirs: string[] = [];
afterAll(() => {
  for (const dir of spinDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh file for `spinToFile` to write its progress to (removed after the tests). */
function spinFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-spin-'));
  spinDirs.push(dir);
  return join(dir, 'progress');
}

function readProgress(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Waits until the worker writes its progress, i.e. the endless loop is running. */
async function untilCounting(file: string): Promise<void> {
  while (readProgress(file) === undefined) await pause(2);
}

/** Whether a process with this pid still exists (a zombie counts as gone only once reaped). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the worker is gone: its progress stops moving (the loop wrote every ~10 ms) and,
 * where it ran in a child process (Deno), that process no longer exists. Polls, with a
 * guard against a worker that never stops.
 */
async function stopsCounting(file: string): Promise<boolean> {
  let last = readProgress(file);
  for (let waited = 0; waited < 10_000; waited += 100) {
    await pause(100);
    const now = readProgress(file);
    if (now === last) {
      const pid = Number(now?.split(' ')[0]);
      return pid === process.pid || !alive(pid);
    }
    last = now;
  }
  return false;
}

describe('runInWorker', () => {
  test('runs the export in a worker and resolves with its value', async () => {
    expect(await runInWorker(fns, 'add', [2, 3])).toBe(5);
    expect(await runInWorker(fns.href, 'later', ['done', 5])).toBe('done');
    expect(
      await runInWorker(fns, 'echo', [{ a: [1, 2], d: new Date(0), m: new Map([[1, 2]]) }]),
    ).toEqual({ a: [1, 2], d: new Date(0), m: new Map([[1, 2]]) });
  });

  test('re-creates a thrown error with its class, message, stack, own properties and cause', async () => {
    const error = await runInWorker(fns, 'fail', ['bad input']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeError);
    const e = error as RangeError & { code: string; cause: Error };
    expect(e.message).toBe('bad input');
    expect(e.code).toBe('E_FAIL');
    expect(e.stack).toContain('worker-fns.mjs');
    expect(e.cause).toBeInstanceOf(Error);
    expect(e.cause.message).toBe('root cause');
  });

  test('an own property that does not clone is left out alone: code and the others are kept (review D3)', async () => {
    const error = await runInWorker(fns, 'failWithUncloneable').catch((e: unknown) => e);
    const e = error as Error & {
      code: string;
      data: unknown;
      fn?: unknown;
      cause: Error & { code: string; fn?: unknown };
    };
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toBe('p');
    expect(e.code).toBe('X');
    expect(e.data).toEqual({ a: 1 });
    expect('fn' in e).toBe(false);
    expect(e.cause.message).toBe('inner');
    expect(e.cause.code).toBe('IN');
    expect('fn' in e.cause).toBe(false);
  });

  test('a cause that does not clone keeps what clones or is left out, never stringified; a throwing getter is left out alone (probe P8)', async () => {
    const fail = (kind: string): Promise<Error & { code?: string }> =>
      runInWorker(fns, 'failWithCauses', [kind]).then(
        () => {
          throw new Error('expected a rejection');
        },
        (e: unknown) => e as Error & { code?: string },
      );
    const object = await fail('object');
    expect(object.message).toBe('w3');
    expect(object.code).toBe('E_UP');
    expect(object.cause).toEqual({ url: 'https://x/y', status: 503 });
    const fn = await fail('function');
    expect(fn.message).toBe('w2');
    expect('cause' in fn).toBe(false);
    const getter = await fail('getter');
    expect(getter.message).toBe('w1');
    expect(getter.code).toBe('E_G');
    expect('g' in getter).toBe(false);
  });

  test('an invalid transfer list is a TypeError on every runtime; an ArrayBuffer crosses (review D10)', async () => {
    const primitive = await runInWorker(fns, 'add', [1, 2], { transfer: [5] as never }).catch(
      (e: unknown) => e,
    );
    expect(primitive).toBeInstanceOf(TypeError);
    expect(String(primitive)).toMatch(/`options\.transfer\[0\]`.*`5` \(number\)/);
    const { port1, port2 } = new MessageChannel();
    const port = await runInWorker(fns, 'add', [1, 2], { transfer: [port1] }).then(
      (value) => ({ value }),
      (e: unknown) => e,
    );
    port1.close();
    port2.close();
    // Node and Bun move the port (unused by `add`); a Deno worker process cannot take it.
    if (typeof (globalThis as { Deno?: unknown }).Deno === 'object') {
      expect(port).toBeInstanceOf(TypeError);
    } else expect(port).toEqual({ value: 3 });
    const buffer = new ArrayBuffer(8);
    expect(await runInWorker(fns, 'add', [1, 2], { transfer: [buffer] })).toBe(3);
  });

  test("re-creates an AggregateError with its errors, and a scope's TaskGroupError as one", async () => {
    const many = (await runInWorker(fns, 'failMany').catch((e: unknown) => e)) as AggregateError;
    expect(many).toBeInstanceOf(AggregateError);
    expect(many.message).toBe('many');
    expect((many.cause as Error).message).toBe('why');
    expect(many.errors).toHaveLength(2);
    expect(many.errors[0]).toBeInstanceOf(TypeError);
    expect(many.errors[1]).toBeInstanceOf(RangeError);
    expect((many.errors[1] as Error).message).toBe('b failed');
    const group = (await runInWorker(fns, 'failGroup').catch((e: unknown) => e)) as TaskGroupError;
    expect(group).toBeInstanceOf(TaskGroupError);
    expect(group.name).toBe('TaskGroupError');
    expect(group.message).toMatch(/^2 tasks failed/);
    expect(group.errors.map((e) => (e as Error).message)).toEqual(['a failed', 'b failed']);
  });

  test('keeps the name of a custom error class and passes thrown non-errors as they are', async () => {
    const custom = (await runInWorker(fns, 'failCustom').catch((e: unknown) => e)) as Error;
    expect(custom.name).toBe('ParseError');
    expect(custom.message).toBe('unexpected token');
    await expect(runInWorker(fns, 'failString')).rejects.toBe('plain string');
  });

  test('rejects with a WorkerError when the module does not load or the result cannot cross', async () => {
    const load = (await runInWorker(broken, 'work').catch((e: unknown) => e)) as WorkerError;
    expect(load).toBeInstanceOf(WorkerError);
    expect(load.name).toBe('WorkerError');
    expect((load.cause as Error).message).toBe('broken module');
    const clone = await runInWorker(fns, 'returnsFunction').catch((e: unknown) => e);
    expect(clone).toBeInstanceOf(WorkerError);
    expect((clone as Error).message).toContain('structured-cloneable');
  });

  test('rejects with a TypeError for a missing export and for arguments that cannot be cloned', async () => {
    await expect(runInWorker(fns, 'nope')).rejects.toThrow(
      /to export a function `nope`, got undefined/,
    );
    await expect(runInWorker(fns, 'notAFunction')).rejects.toThrow(/got number/);
    await expect(runInWorker(fns, 'echo', [() => 1])).rejects.toThrow(TypeError);
  });

  test('rejects with a WorkerError when the worker crashes during the call', async () => {
    const error = (await runInWorker(fns, 'crashLater').catch((e: unknown) => e)) as WorkerError;
    expect(error).toBeInstanceOf(WorkerError);
    expect(String((error.cause as Error)?.message ?? error.cause)).toContain('async crash');
  });

  test('rejects with a WorkerError when the worker exits during the call', async () => {
    const exited = (await runInWorker(fns, 'exitWith', [3]).catch((e: unknown) => e)) as Error;
    expect(exited).toBeInstanceOf(WorkerError);
    expect(exited.message).toBe('The worker running `exitWith` failed');
    expect((exited.cause as Error).message).toBe('The worker exited with code 3');
    const closed = (await runInWorker(fns, 'closeSelf').catch((e: unknown) => e)) as Error;
    expect(closed).toBeInstanceOf(WorkerError);
    expect((closed.cause as Error).message).toMatch(/^The worker exited/);
  });

  test('validates its arguments', async () => {
    await expect(runInWorker('./relative.mjs', 'x')).rejects.toThrow(
      /Expected `moduleUrl` to be an absolute module URL .*got `\.\/relative\.mjs` \(string\)/,
    );
    await expect(runInWorker(fns, '')).rejects.toThrow(TypeError);
    await expect(runInWorker(fns, 'add', 1 as never)).rejects.toThrow(/`args` to be an array/);
    await expect(
      runInWorker(fns, 'add', [], { sginal: undefined, singal: 1 } as never),
    ).rejects.toThrow(/Unknown option `options.singal`.*Did you mean `signal`/);
  });

  test(
    'cancelling a call in an endless loop terminates the worker and rejects with the reason',
    async () => {
      const file = spinFile();
      const controller = new AbortController();
      const call = runInWorker(fns, 'spinToFile', [file], { signal: controller.signal });
      const outcome = call.catch((e: unknown) => e);
      await untilCounting(file);
      const reason = new Error('stop spinning');
      controller.abort(reason);
      expect(await outcome).toBe(reason);
      const pid = Number(readProgress(file)!.split(' ')[0]);
      if (onDeno) {
        // A child process, already killed and reaped when the call rejects.
        expect(pid).not.toBe(process.pid);
        expect(alive(pid)).toBe(false);
      } else expect(pid).toBe(process.pid);
      expect(await stopsCounting(file)).toBe(true);
    },
    STOP_TIMEOUT,
  );

  test(
    'is cancelled with the enclosing task',
    async () => {
      const file = spinFile();
      let taskError: unknown;
      await scope(async (s) => {
        const task = s.spawn(() => runInWorker(fns, 'spinToFile', [file]));
        await untilCounting(file);
        s.cancel(new CancelledError('enough'));
        taskError = await task.then(
          () => undefined,
          (e: unknown) => e,
        );
      });
      expect(taskError).toBeInstanceOf(CancelledError);
      expect((taskError as Error).message).toBe('enough');
      expect(await stopsCounting(file)).toBe(true);
    },
    STOP_TIMEOUT,
  );

  test(
    'a process that cancelled a call in an endless loop exits on its own',
    async () => {
      const child = await runChild(
        fileURLToPath(new URL('../test/fixtures/worker-spin-exit.mjs', import.meta.url)),
      );
      expect(child.killed).toBe(false);
      expect(child.stdout).toBe('stop spinning\n');
      expect(child.code).toBe(0);
    },
    STOP_TIMEOUT,
  );

  test(
    'a process that exits while a call is busy in an endless loop leaves no worker behind',
    async () => {
      const child = await runChild(
        fileURLToPath(new URL('../test/fixtures/worker-exit-busy.mjs', import.meta.url)),
      );
      expect(child.code).toBe(0);
      const [pidText, dir] = child.stdout.trim().split(' ');
      spinDirs.push(dir!);
      const pid = Number(pidText);
      expect(pid).toBeGreaterThan(0);
      // On Deno the worker was a child process of that program: killed as it exited.
      let waited = 0;
      while (alive(pid) && waited < 10_000) {
        await pause(50);
        waited += 50;
      }
      expect(alive(pid)).toBe(false);
    },
    STOP_TIMEOUT,
  );

  test(
    'a process killed with SIGKILL while a call is busy in an endless loop leaves no worker behind',
    async () => {
      let line = '';
      const child = await runChild(
        fileURLToPath(new URL('../test/fixtures/worker-exit-busy.mjs', import.meta.url)),
        {
          args: ['--wait'],
          onStdout: (text, kill) => {
            if (line === '' && text.endsWith('\n')) {
              line = text.trim();
              kill('SIGKILL');
            }
          },
        },
      );
      expect(child.killed).toBe(false); // killed by the test, not by the guard
      const [pidText, dir] = line.split(' ');
      spinDirs.push(dir!);
      const pid = Number(pidText);
      expect(pid).toBeGreaterThan(0);
      // On Deno the worker was a child process: it sees its parent's pipe close and exits.
      let waited = 0;
      while (alive(pid) && waited < 10_000) {
        await pause(50);
        waited += 50;
      }
      expect(alive(pid)).toBe(false);
    },
    STOP_TIMEOUT,
  );

  test.skipIf(!onDeno)(
    "on Deno, a worker module resolves imports through the app's deno.json (review diag D5)",
    async () => {
      const app = fileURLToPath(new URL('../test/fixtures/deno-app/', import.meta.url));
      // Started in the app's directory, and from elsewhere (Deno finds the config from
      // the main module then).
      for (const cwd of [app, tmpdir()]) {
        const child = await runChild(join(app, 'main.js'), { cwd });
        expect(child.stderr).toBe('');
        expect(child.stdout).toBe('42\n');
        expect(child.code).toBe(0);
      }
    },
    STOP_TIMEOUT,
  );

  test('an already-aborted signal rejects without starting a worker', async () => {
    const pool = new WorkerPool({ size: 1 });
    const reason = new Error('too late');
    await expect(pool.run(fns, 'add', [1, 2], { signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
    expect(pool.workers).toBe(0);
    await pool.close();
  });
});

describe('WorkerPool', () => {
  test('reuses at most `size` workers and queues the rest in order', async () => {
    await using pool = new WorkerPool({ size: 2 });
    const calls = Array.from({ length: 6 }, () => pool.run<number>(fns, 'callCount'));
    expect(pool.running).toBe(2);
    expect(pool.waiting).toBe(4);
    const counts = await Promise.all(calls);
    expect(pool.workers).toBe(2);
    // Six calls on two workers: each worker ran several of them.
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(6);
    expect(Math.max(...counts)).toBeGreaterThan(1);
  });

  test('close() waits for queued and running calls, then stops every worker', async () => {
    const pool = new WorkerPool({ size: 1 });
    const a = pool.run(fns, 'later', ['a', 20]);
    const b = pool.run(fns, 'later', ['b', 5]);
    await pool.close();
    expect(await a).toBe('a');
    expect(await b).toBe('b');
    expect(pool.workers).toBe(0);
    expect(pool.closed).toBe(true);
    await expect(pool.run(fns, 'add', [1, 1])).rejects.toThrow(/the worker pool is closed/);
  });

  test(
    'terminate() cancels running and queued calls and stops every worker',
    async () => {
      const pool = new WorkerPool({ size: 1 });
      const file = spinFile();
      const running = pool.run(fns, 'spinToFile', [file]).catch((e: unknown) => e);
      const queued = pool.run(fns, 'add', [1, 1]).catch((e: unknown) => e);
      await untilCounting(file);
      await pool.terminate();
      expect(await running).toBeInstanceOf(CancelledError);
      expect(await queued).toBeInstanceOf(CancelledError);
      expect(pool.workers).toBe(0);
      expect(await stopsCounting(file)).toBe(true);
    },
    STOP_TIMEOUT,
  );

  test('cancelling a queued call drops it and leaves the others running', async () => {
    await using pool = new WorkerPool({ size: 1 });
    const controller = new AbortController();
    const first = pool.run(fns, 'later', ['first', 20]);
    const dropped = pool.run(fns, 'add', [1, 1], { signal: controller.signal });
    const third = pool.run(fns, 'add', [2, 2]);
    controller.abort(new Error('not needed'));
    await expect(dropped).rejects.toThrow('not needed');
    expect(await first).toBe('first');
    expect(await third).toBe(4);
    expect(pool.workers).toBe(1);
  });

  test('replaces a worker terminated by cancellation on the next call', async () => {
    await using pool = new WorkerPool({ size: 1 });
    const file = spinFile();
    const controller = new AbortController();
    const spinning = pool
      .run(fns, 'spinToFile', [file], { signal: controller.signal })
      .catch(() => {});
    await untilCounting(file);
    controller.abort();
    await spinning;
    expect(pool.workers).toBe(0);
    expect(await pool.run(fns, 'callCount')).toBe(1);
    expect(pool.workers).toBe(1);
  });

  test('replaces a worker that exited and runs the queued calls on the new one', async () => {
    await using pool = new WorkerPool({ size: 1 });
    const dying = pool.run(fns, 'exitWith', [0]).catch((e: unknown) => e);
    const queued = pool.run<number>(fns, 'add', [2, 3]);
    expect(await dying).toBeInstanceOf(WorkerError);
    expect(await queued).toBe(5);
    // One new worker, reused: its call counter goes on.
    expect(await pool.run(fns, 'callCount')).toBe(1);
    expect(await pool.run(fns, 'callCount')).toBe(2);
    expect(pool.workers).toBe(1);
    expect(pool.running).toBe(0);
  });

  test('carries large and many small arguments and results intact (frames split and batched on Deno)', async () => {
    await using pool = new WorkerPool({ size: 2 });
    const arg = 'ab'.repeat(1_500_000); // 3 MB: many pipe chunks on Deno
    const [echoed, made] = await Promise.all([
      pool.run<string>(fns, 'echo', [arg]),
      pool.run<string>(fns, 'big', [2_000_003, 5]),
    ]);
    expect(echoed === arg).toBe(true);
    expect(made.length).toBe(2_000_003);
    expect(made.slice(0, 3)).toBe('fgh');
    expect(made.slice(-2)).toBe(
      String.fromCharCode(97 + ((5 + 2_000_001) % 26), 97 + ((5 + 2_000_002) % 26)),
    );
    // Many small calls at once: several frames can arrive in one chunk.
    const sums = await Promise.all(
      Array.from({ length: 200 }, (_, i) => pool.run<number>(fns, 'add', [i, 1])),
    );
    expect(sums).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  test('a crash left behind by a call that returned fails neither it nor the next call (review diag D7)', async () => {
    await using pool = new WorkerPool({ size: 1 });
    for (const name of ['floating', 'laterThrow']) {
      // The next call is queued at once, so it is handed to the worker as soon as the first
      // one replies, before (or as) the leftover crashes it.
      const first = pool.run(fns, name);
      const next = pool.run<number>(fns, 'add', [1, 2]);
      expect(await first).toBe(name === 'floating' ? 'ret' : 'ret2');
      expect(await next).toBe(3);
      // A later call after the crash has surely happened: a fresh worker.
      await pause(20);
      expect(await pool.run<number>(fns, 'add', [2, 2])).toBe(4);
    }
  });

  test('a crash between calls is emitted as a WorkerCrashWarning, not lost (review diag D8)', async () => {
    await using pool = new WorkerPool({ size: 1 });
    const warnings = await collectWarnings(async () => {
      expect(await pool.run(fns, 'floating')).toBe('ret');
      expect(await pool.run(fns, 'laterThrow')).toBe('ret2');
      for (let waited = 0; pool.workers > 0 && waited < 5000; waited += 10) await pause(10);
    });
    const crashes = warnings.filter((w) => w.name === 'WorkerCrashWarning');
    expect(crashes.map((w) => (w.cause as Error).message).sort()).toEqual(
      ['floating', 'timer-throw'].sort(),
    );
    expect(crashes[0]!.message).toMatch(/^A worker failed between calls \(Error: /);
  });

  test('leaves no listener on the caller signal', async () => {
    const { signal, listeners } = countingController();
    await using pool = new WorkerPool({ size: 2 });
    await Promise.all([
      pool.run(fns, 'add', [1, 2], { signal }),
      pool.run(fns, 'fail', ['x'], { signal }).catch(() => {}),
    ]);
    expect(listeners()).toBe(0);
  });

  test('validates its options', () => {
    expect(() => new WorkerPool({ size: 0 })).toThrow(
      'Expected `options.size` to be an integer from 1 up, got `0` (number)',
    );
    expect(() => new WorkerPool({ size: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => new WorkerPool({ sise: 2 } as never)).toThrow(/Did you mean `size`/);
    expect(new WorkerPool().size).toBeGreaterThanOrEqual(1);
  });
});
