import { describe, expect, test } from 'vitest';
import { isCancellation } from './errors.ts';
import { Scope, scope } from './scope.ts';
import { sleep } from './sleep.ts';
import type { StartContext } from './task.ts';
import { TestClock } from './test-clock.ts';

describe('Scope.start (Trio nursery.start)', () => {
  test('resolves with the value passed to ctx.started(), and the task keeps running', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const log: string[] = [];
    await scope(
      async (s) => {
        const port = await s.start(async (ctx: StartContext<number>) => {
          await sleep(10);
          log.push('listening');
          ctx.started(8080);
          await sleep(100);
          log.push('served');
        });
        log.push(`caller got ${port} at ${clock.now()}`);
      },
      { clock },
    );
    expect(log).toEqual(['listening', 'caller got 8080 at 10', 'served']);
  });

  test('a failure before started() rejects start() and does not fail the scope', async () => {
    const boom = new Error('bind failed');
    const outcome = await scope(async (s) => {
      const err = await s
        .start(async () => {
          throw boom;
        })
        .catch((e: unknown) => e);
      return err;
    });
    expect(outcome).toBe(boom);
  });

  test('a failure after started() fails the scope as any task does', async () => {
    const boom = new Error('crashed');
    const err = await scope(async (s) => {
      await s.start(async (ctx: StartContext<void>) => {
        ctx.started();
        await sleep(0);
        throw boom;
      });
      await sleep(1e9);
    }).catch((e: unknown) => e);
    expect((err as AggregateError).errors).toEqual([boom]);
  });

  test('returning before started() rejects start() with an Error saying so', async () => {
    const err = await scope((s) => s.start(() => 1, { name: 'quitter' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/"quitter" returned before calling ctx\.started\(\)/);
  });

  test('calling started() twice throws in the task', async () => {
    const err = await scope(async (s) => {
      await s.start((ctx: StartContext<number>) => {
        ctx.started(1);
        ctx.started(2);
      });
    }).catch((e: unknown) => e);
    expect(String((err as AggregateError).errors[0])).toMatch(/more than once/);
  });

  test('cancelling the caller before started() cancels the task and rejects start()', async () => {
    const clock = new TestClock({ autoAdvance: true });
    await using server = new Scope({ clock });
    let taskEnd: unknown;
    const err = await scope(
      async () =>
        server.start(async ({ signal }) => {
          try {
            await sleep(1000, { signal });
          } catch (e) {
            taskEnd = e;
            throw e;
          }
        }),
      { clock, timeout: 20 },
    ).catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
    expect(taskEnd).toBe(err);
    expect(server.cancelled).toBe(false); // the server scope itself goes on
  });

  test('ctx.started() in a spawned task or a body does nothing', async () => {
    await scope((s) => {
      s.spawn((ctx) => ctx.started('ignored'));
    });
  });

  test('start on a closed scope rejects with a TypeError', async () => {
    const s = new Scope();
    await s[Symbol.asyncDispose]();
    await expect(s.start(() => {})).rejects.toThrow(TypeError);
  });

  test('the scope being cancelled before started() rejects start() with the cancellation', async () => {
    const err = await scope(async (s) => {
      const pending = s.start(() => sleep(1e9));
      s.cancel();
      return pending.catch((e: unknown) => e);
    }).catch((e: unknown) => e);
    expect(isCancellation(err)).toBe(true);
  });
});
