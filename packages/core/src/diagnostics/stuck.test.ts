import { describe, expect, test } from 'vitest';
import { deferred } from '../../test/helpers.ts';
import { CancelledError } from '../errors.ts';
import { map } from '../map.ts';
import { run } from '../run.ts';
import { scope } from '../scope.ts';
import { shield } from '../shield.ts';
import { sleep } from '../sleep.ts';
import { TestClock } from '../test-clock.ts';
import type { Clock } from '../clock.ts';
import type { StuckReport } from './stuck.ts';

/** Replaces console.warn while `fn` runs; returns what it received. */
async function captureWarn(fn: () => Promise<unknown>): Promise<string[]> {
  const original = console.warn;
  const lines: string[] = [];
  console.warn = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  try {
    await fn().catch(() => {});
    return lines;
  } finally {
    console.warn = original;
  }
}

describe('stuck-cancellation report', () => {
  test('names a task still running stuckAfter ms after its scope was cancelled, with its path', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const gate = deferred();
    const reports: StuckReport[] = [];
    const boom = new Error('boom');
    const outcome = await run(
      async () => {
        await scope(
          async (s) => {
            s.spawn(async function stubborn() {
              await gate.promise; // ignores its signal
            });
            s.spawn(async function polite({ signal }) {
              await sleep(60_000, { signal });
            });
            s.spawn(async () => {
              await sleep(10);
              throw boom;
            });
          },
          { name: 'jobs' },
        );
      },
      {
        clock,
        handleSignals: false,
        stuckAfter: 1000,
        onStuck: (report) => {
          reports.push(report);
          gate.resolve();
        },
      },
    ).catch((e: unknown) => e);
    expect(outcome).toMatchObject({ name: 'TaskGroupError', errors: [boom] });
    expect(reports).toHaveLength(1);
    const [report] = reports;
    expect(report).toMatchObject({ kind: 'task', cancelledFor: 1000 });
    expect(report!.name).toMatch(/^stubborn#\d+$/);
    expect(report!.path).toEqual(['run', 'jobs', report!.name]);
    expect(report!.reason).toBeInstanceOf(CancelledError);
    expect((report!.reason as Error).cause).toBe(boom);
    expect(clock.now()).toBe(1010);
    expect(clock.pendingTimers).toBe(0);
  });

  test('by default run() warns after 5 s, once per task', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const gate = deferred();
    // Released long after the report, so a second report would have had time to appear.
    void clock.sleep(20_000).then(() => gate.resolve());
    const lines = await captureWarn(() =>
      run(
        async (ctx) => {
          ctx.scope.spawn(async () => void (await gate.promise), { name: 'worker' });
          ctx.scope.cancel();
        },
        { clock, handleSignals: false },
      ),
    );
    expect(clock.now()).toBe(20_000);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      'weft: task "worker" (run › worker) is still running 5.00 s after it was cancelled: pass ctx.signal to what it awaits, or check for a loop that ignores cancellation',
    );
  });

  test('reports a task that ignores its own cancel() without cancelling its scope', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const gate = deferred();
    const reports: StuckReport[] = [];
    await run(
      async (ctx) => {
        const t = ctx.scope.spawn(() => gate.promise, { name: 'ignores' });
        await sleep(5);
        t.cancel(new CancelledError('stop it'));
        expect(ctx.scope.cancelled).toBe(false);
      },
      {
        clock,
        handleSignals: false,
        stuckAfter: 200,
        onStuck: (r) => {
          reports.push(r);
          gate.resolve();
        },
      },
    );
    expect(reports.map((r) => [r.name, r.path, r.cancelledFor])).toEqual([
      ['ignores', ['run', 'ignores'], 200],
    ]);
    expect((reports[0]!.reason as Error).message).toBe('stop it');
  });

  test('reports a main body that ignores cancellation', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const controller = new AbortController();
    const reports: StuckReport[] = [];
    const gate = deferred();
    await run(
      async () => {
        controller.abort(new CancelledError('shutdown'));
        await gate.promise;
      },
      {
        clock,
        handleSignals: false,
        signal: controller.signal,
        stuckAfter: 300,
        onStuck: (r) => {
          reports.push(r);
          gate.resolve();
        },
      },
    ).catch(() => {});
    expect(reports.map((r) => [r.kind, r.name, r.path, r.cancelledFor])).toEqual([
      ['scope', 'run', ['run'], 300],
    ]);
  });

  test('reports only the innermost stuck task, not the tasks and bodies waiting for it', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const reports: string[] = [];
    const gate = deferred();
    await run(
      async () => {
        await scope(
          async (s) => {
            s.spawn(function parent() {
              return scope(
                async (s2) => {
                  s2.spawn(function stubborn() {
                    return gate.promise; // ignores its signal
                  });
                  await sleep(5000);
                },
                { name: 'inner' },
              );
            });
            await sleep(5000);
          },
          { name: 'svc' },
        );
      },
      {
        clock,
        handleSignals: false,
        timeout: 50,
        stuckAfter: 150,
        onStuck: (r) => {
          reports.push(`${r.kind} ${r.path.join('/').replace(/#\d+/g, '')} ${r.cancelledFor}`);
          void clock.sleep(1000).then(() => gate.resolve());
        },
      },
    ).catch(() => {});
    expect(reports).toEqual(['task run/svc/parent/inner/stubborn 150']);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a body awaiting a stuck task is not reported with it', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const reports: string[] = [];
    const gate = deferred();
    await run(
      async (ctx) => {
        const t = ctx.scope.spawn(() => gate.promise, { name: 'stubborn' });
        await sleep(10);
        ctx.scope.cancel();
        await t.then(
          () => {},
          () => {},
        );
      },
      {
        clock,
        handleSignals: false,
        stuckAfter: 100,
        onStuck: (r) => {
          reports.push(`${r.kind} ${r.name}`);
          void clock.sleep(500).then(() => gate.resolve());
        },
      },
    );
    expect(reports).toEqual(['task stubborn']);
  });

  test('reports a waiter once what it waited for has ended and it still ignores cancellation', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const reports: string[] = [];
    const gate = deferred();
    await run(
      async (ctx) => {
        ctx.scope.spawn(
          async function waiter() {
            // Waits for a nested scope whose task ignores cancellation for 300 ms, then
            // ignores its own cancellation.
            await scope(async (s) => {
              s.spawn(() => clock.sleep(300), { name: 'slow' });
            }).catch(() => {});
            await gate.promise;
          },
          { name: 'waiter' },
        );
        await sleep(10);
        ctx.scope.cancel();
      },
      {
        clock,
        handleSignals: false,
        stuckAfter: 100,
        onStuck: (r) => {
          reports.push(`${r.kind} ${r.path.join('/')} ${r.cancelledFor}`);
          if (r.name === 'waiter') gate.resolve();
        },
      },
    );
    // At 100 ms after the cancel only `slow` is reported (the waiter waits for its scope);
    // that scope closes at 300 ms (290 ms after the cancel), and 100 ms later the waiter
    // itself is still running.
    expect(reports).toEqual(['task run/waiter/scope/slow 100', 'task run/waiter 390']);
  });

  test('reports a task inside shield() as kind shield, not as ignoring cancellation, and a stuck task beside it as usual (review D9)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const reports: string[] = [];
    await run(
      async (ctx) => {
        ctx.scope.spawn(
          async () => {
            try {
              await sleep(60_000);
            } finally {
              await shield(() => sleep(300)); // cleanup that must finish: sanctioned
            }
          },
          { name: 'cleaner' },
        );
        ctx.scope.spawn(() => clock.sleep(250), { name: 'stubborn' }); // ignores its signal
        await sleep(10);
        ctx.scope.cancel();
      },
      {
        clock,
        handleSignals: false,
        stuckAfter: 100,
        onStuck: (r) => reports.push(`${r.kind} ${r.path.join('/')} ${r.cancelledFor}`),
      },
    );
    expect(reports).toEqual(['shield run/cleaner 100', 'task run/stubborn 100']);
    expect(clock.now()).toBe(310);
    expect(clock.pendingTimers).toBe(0);
  });

  test('reports a task that still ignores cancellation stuckAfter ms after its shield() ended', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const reports: string[] = [];
    await run(
      async (ctx) => {
        const task = ctx.scope.spawn(
          async () => {
            try {
              await sleep(60_000);
            } finally {
              // shield() re-raises the deferred cancellation; this task swallows it and
              // goes on ignoring its signal, no longer shielded.
              await shield(() => sleep(300)).catch(() => {});
              await clock.sleep(500);
            }
          },
          { name: 'cleaner' },
        );
        await sleep(10);
        task.cancel(); // the task alone: its own check, not the scope's
        await task.then(
          () => {},
          () => {},
        );
      },
      {
        clock,
        handleSignals: false,
        stuckAfter: 100,
        onStuck: (r) => reports.push(`${r.kind} ${r.path.join('/')} ${r.cancelledFor}`),
      },
    );
    // Cancelled at 10; in its shield at 110; the shield ends at 310; 100 ms later the task
    // still runs.
    expect(reports).toEqual(['shield run/cleaner 100', 'task run/cleaner 400']);
    expect(clock.pendingTimers).toBe(0);
  });

  test('warns about a shield that never ends, once, saying it is in shield() (review diag D3)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const gate = deferred();
    const lines = await captureWarn(() =>
      run(
        async (ctx) => {
          ctx.scope.spawn(
            async () => {
              try {
                await sleep(60_000);
              } finally {
                await shield(() => gate.promise); // a rollback that hangs
              }
            },
            { name: 'cleaner' },
          );
          await sleep(10);
          ctx.scope.cancel();
          await clock.sleep(20_000); // later checks: still one warning
          gate.resolve();
        },
        { clock, handleSignals: false },
      ),
    );
    expect(lines).toEqual([
      'weft: run › cleaner is still in shield() 5.00 s after it was cancelled (shield defers the cancellation): if the shielded work can hang, give it a timeout',
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  test('reports a main body inside shield() as kind shield, then as ignoring cancellation once it has ended', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const reports: string[] = [];
    await run(
      async (ctx) => {
        ctx.scope.cancel();
        await shield(() => sleep(300)).catch(() => {});
        await clock.sleep(500); // then ignores its cancellation
      },
      {
        clock,
        handleSignals: false,
        stuckAfter: 100,
        onStuck: (r) => reports.push(`${r.kind} ${r.path.join('/')} ${r.cancelledFor}`),
      },
    ).catch(() => {});
    expect(reports).toEqual(['shield run 100', 'scope run 400']);
    expect(clock.pendingTimers).toBe(0);
  });

  test('says nothing about tasks that honour cancellation, and leaves no timer', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const lines = await captureWarn(() =>
      run(
        async (ctx) => {
          for (let i = 0; i < 3; i++) ctx.scope.spawn(() => sleep(60_000));
          await sleep(10);
          ctx.scope.cancel();
        },
        { clock, handleSignals: false },
      ),
    );
    expect(lines).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.now()).toBe(10);
  });

  test('reports a stuck task when the check fires with now() 1 ms short of stuckAfter, as system timers can (review D2)', async () => {
    const inner = new TestClock({ autoAdvance: true });
    // setTimeout runs on a monotonic clock and can fire when Date.now() has moved one
    // millisecond less than asked; this clock's timers do that every time.
    const clock: Clock = {
      now: () => inner.now(),
      sleep: (ms, signal) => inner.sleep(ms, signal),
      schedule: (ms, callback) => inner.schedule(Math.max(0, ms - 1), callback),
    };
    const gate = deferred();
    void inner.sleep(300).then(() => gate.resolve());
    const reports: StuckReport[] = [];
    await run(
      async () => {
        await scope(async (s) => {
          s.spawn(async function stubborn() {
            await gate.promise; // ignores its signal
          });
          await sleep(20);
          s.cancel();
        });
      },
      { clock, handleSignals: false, stuckAfter: 100, onStuck: (r) => void reports.push(r) },
    );
    expect(reports.map((r) => r.path.at(-1))).toEqual([expect.stringMatching(/^stubborn/)]);
  });

  test('with autoAdvance, a task that takes a few real ms to honour its cancellation is not reported (review D9)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const reports: StuckReport[] = [];
    const ended: string[] = [];
    await run(
      async () => {
        await scope(async (s) => {
          s.spawn(async function windsDown({ signal }) {
            await new Promise((resolve) => signal.addEventListener('abort', resolve));
            // Its cleanup takes real time, as a socket closing or a worker stopping does:
            // virtual time has nothing to wait for meanwhile.
            await new Promise((resolve) => setTimeout(resolve, 40));
            ended.push('windsDown');
          });
          await sleep(10);
          s.cancel();
        });
      },
      { clock, handleSignals: false, stuckAfter: 1000, onStuck: (r) => void reports.push(r) },
    );
    expect(ended).toEqual(['windsDown']);
    expect(reports).toEqual([]);
    expect(clock.now()).toBe(10); // the check never fired: it was cleared with its scope
    expect(clock.pendingTimers).toBe(0);
  });

  test('with autoAdvance, a stuck check still jumps over virtual time once the program stays idle', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const gate = deferred();
    const reports: StuckReport[] = [];
    await run(
      async (ctx) => {
        ctx.scope.spawn(async function stubborn() {
          await gate.promise;
        });
        ctx.scope.cancel();
      },
      {
        clock,
        handleSignals: false,
        stuckAfter: 60_000,
        onStuck: (r) => {
          reports.push(r);
          gate.resolve();
        },
      },
    );
    expect(reports.map((r) => [r.name, r.cancelledFor])).toEqual([
      [expect.stringMatching(/^stubborn#/), 60_000],
    ]);
    expect(clock.now()).toBe(60_000);
  });

  test('with autoAdvance, a timer set while a stuck check waits for real idleness is jumped to at once (review D1)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const order: string[] = [];
    await run(
      async () => {
        await scope(async (s) => {
          s.spawn(async function flusher({ signal }) {
            try {
              await sleep(60_000, { signal });
            } finally {
              await new Promise((resolve) => setTimeout(resolve, 5)); // real I/O in cleanup
              // The stuck check (5 s away) is the next timer now, and the clock waits for
              // the program to stay idle in real time before jumping to it; this virtual
              // sleep must not wait for that (up to 200 ms) but fire at once.
              const marker = setTimeout(() => order.push('150 real ms passed'), 150);
              // (shield() re-raises the task's cancellation once its work is done)
              await shield(() => sleep(10, { clock })).catch(() => {});
              order.push('shielded sleep done');
              clearTimeout(marker);
            }
          });
          await sleep(10);
          s.cancel();
        });
      },
      { clock, handleSignals: false, stuckAfter: 5000 },
    );
    expect(order).toEqual(['shielded sleep done']);
    expect(clock.now()).toBe(20);
  });

  test('with autoAdvance, the real-time grace holds when another timer brings the clock up to the check (review D8)', async () => {
    for (const tickerMs of [999, 1000, 1001]) {
      const clock = new TestClock({ autoAdvance: true });
      const reports: string[] = [];
      await run(
        async (ctx) => {
          ctx.scope.spawn(async function ticker() {
            await sleep(tickerMs);
          });
          await scope(async (s) => {
            s.spawn(async function windsDown({ signal }) {
              await new Promise((resolve) => signal.addEventListener('abort', resolve));
              await new Promise((resolve) => setTimeout(resolve, 40)); // real-time cleanup
            });
            await Promise.resolve();
            s.cancel();
          });
        },
        {
          clock,
          handleSignals: false,
          stuckAfter: 1000,
          onStuck: (r) => void reports.push(r.name),
        },
      );
      expect([tickerMs, reports]).toEqual([tickerMs, []]);
    }
  });

  test('a stuck task inside a pool item has the item in its path, not the worker (review D7)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const gate = deferred();
    const paths: string[][] = [];
    await run(
      async () => {
        await map(
          [0, 1],
          async function page(_x, { signal }, i) {
            if (i === 0) {
              await sleep(10, { signal });
              throw new Error('boom');
            }
            await scope(
              async (s) => {
                s.spawn(async function stubborn() {
                  await gate.promise;
                });
              },
              { name: 'inner' },
            );
          },
          { concurrency: 2 },
        );
      },
      {
        clock,
        handleSignals: false,
        stuckAfter: 100,
        onStuck: (r) => {
          paths.push([...r.path]);
          gate.resolve();
        },
      },
    ).catch(() => {});
    expect(paths).toEqual([
      [
        'run',
        'map',
        expect.stringMatching(/^page\[1\]#\d+$/),
        'inner',
        expect.stringMatching(/^stubborn#\d+$/),
      ],
    ]);
  });

  test('stuckAfter: false turns the check off', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const gate = deferred();
    const reports: StuckReport[] = [];
    void clock.sleep(60_000).then(() => gate.resolve());
    await run(
      async (ctx) => {
        ctx.scope.spawn(() => gate.promise);
        ctx.scope.cancel();
      },
      { clock, handleSignals: false, stuckAfter: false, onStuck: (r) => void reports.push(r) },
    );
    expect(reports).toEqual([]);
  });

  test('validates its options', async () => {
    await expect(run(() => 1, { stuckAfter: -1 })).rejects.toThrow(
      'Expected `options.stuckAfter` to be a number of milliseconds from 0 up (or Infinity), got `-1` (number)',
    );
    await expect(run(() => 1, { onStuck: 'warn' as never })).rejects.toThrow(
      'Expected `options.onStuck` to be a function, got `warn` (string)',
    );
    await expect(run(() => 1, { stuckafter: 1 } as never)).rejects.toThrow(
      /Did you mean `stuckAfter`/,
    );
  });
});
