import { describe, expect, test } from 'vitest';
import { collectUnhandled } from '../test/helpers.ts';
import { TaskGroupError } from './errors.ts';
import { any, race } from './race.ts';
import { sleep } from './sleep.ts';
import { TestClock } from './test-clock.ts';

describe('race', () => {
  test('settles like the first item and cancels and awaits the losers', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const cleaned: string[] = [];
    const loser =
      (name: string) =>
      async ({ signal }: { signal: AbortSignal }) => {
        try {
          await sleep(1000, { signal });
          return name;
        } finally {
          await clock.sleep(10);
          cleaned.push(name);
        }
      };
    const winner = await race(
      [
        loser('a'),
        async () => {
          await sleep(100);
          return 'fast';
        },
        loser('b'),
      ],
      { clock },
    );
    expect(winner).toBe('fast');
    expect(cleaned.sort()).toEqual(['a', 'b']);
    expect(clock.now()).toBe(110);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a first rejection wins the race', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const failure = new Error('first to fail');
    await expect(
      race([() => sleep(100).then(() => 'late'), () => Promise.reject(failure)], { clock }),
    ).rejects.toBe(failure);
  });

  test('a loser failing for real during cleanup is not lost', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const cleanupFailure = new Error('cleanup failed');
    const error = await race(
      [
        () => 'instant',
        async ({ signal }) => {
          try {
            await sleep(100, { signal });
          } catch {
            throw cleanupFailure;
          }
        },
      ],
      { clock },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskGroupError);
    expect((error as TaskGroupError).errors).toEqual([cleanupFailure]);
  });

  test("the winner's signal is never aborted: what it returned can still use it", async () => {
    for (const contest of [race, any]) {
      const clock = new TestClock({ autoAdvance: true });
      const loserReasons: unknown[] = [];
      const won = await contest(
        [
          async ({ signal }: { signal: AbortSignal }) => {
            try {
              await sleep(1000, { signal });
            } catch (error) {
              loserReasons.push(error);
              throw error;
            }
          },
          // A response whose body is read later depends on the winner's signal.
          async ({ signal }: { signal: AbortSignal }) => {
            await sleep(10, { signal });
            return signal;
          },
        ],
        { clock },
      );
      const signal = won as AbortSignal;
      expect(signal.aborted).toBe(false);
      await sleep(5, { signal, clock });
      expect(loserReasons).toHaveLength(1);
      expect(String((loserReasons[0] as Error).message)).toMatch(/^Lost the (race|any)/);
    }
  });

  test('a loser cancelled while it runs a nested scope ends quietly; the race returns the winner', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const unhandled = await collectUnhandled(async () => {
      const won = await race(
        [
          async ({ signal }) => {
            const { scope } = await import('./scope.ts');
            await scope(async (s) => {
              s.spawn(() => sleep(1000, { clock }));
              await sleep(1000, { signal, clock });
            });
          },
          () => sleep(10, { clock }).then(() => 'winner'),
        ],
        { clock },
      );
      expect(won).toBe('winner');
    });
    expect(unhandled).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  test('an empty list is a RangeError', async () => {
    await expect(race([])).rejects.toThrow(RangeError);
  });
});

describe('any', () => {
  test('resolves with the first fulfilment and cancels the rest', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let cancelled = false;
    const value = await any(
      [
        () => Promise.reject(new Error('mirror down')),
        async () => {
          await sleep(50);
          return 'mirror 2';
        },
        async ({ signal }) => {
          await sleep(500, { signal }).catch((e: unknown) => {
            cancelled = true;
            throw e;
          });
          return 'mirror 3';
        },
      ],
      { clock },
    );
    expect(value).toBe('mirror 2');
    expect(cancelled).toBe(true);
  });

  test('rejects with an AggregateError of every failure in input order when all fail', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const a = new Error('a');
    const b = new Error('b');
    const unhandled = await collectUnhandled(async () => {
      const error = await any(
        [() => sleep(20).then(() => Promise.reject(a)), () => Promise.reject(b)],
        { clock },
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AggregateError);
      expect((error as AggregateError).errors).toEqual([a, b]);
    });
    expect(unhandled).toEqual([]);
    await expect(any([])).rejects.toBeInstanceOf(AggregateError);
  });
});
