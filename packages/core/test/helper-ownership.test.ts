import { describe, expect, test } from 'vitest';
import { batch } from '../src/iter/batch.ts';
import { buffer } from '../src/iter/buffer.ts';
import { mapConcurrent } from '../src/iter/map-concurrent.ts';
import { take } from '../src/iter/take.ts';
import { isCancellation, suppressedErrors } from '../src/errors.ts';
import { scope } from '../src/scope.ts';
import { sleep } from '../src/sleep.ts';
import { TestClock } from '../src/test-clock.ts';

async function* numbers(): AsyncGenerator<number, void, undefined> {
  for (let i = 0; i < 10; i++) {
    await sleep(2);
    yield i;
  }
}

const helpers = {
  buffer: () => buffer(numbers(), { size: 2 }),
  mapConcurrent: () => mapConcurrent(numbers(), (x) => x, { concurrency: 2 }),
  take: () => take(numbers(), { count: 10 }),
  batch: () => batch(numbers(), { size: 1 }),
};

describe('a helper belongs to the task that started it', () => {
  for (const [name, open] of Object.entries(helpers)) {
    test(`${name}: used after that task ended, it rejects with a cancellation that says why, never a quiet end (review D7)`, async () => {
      const clock = new TestClock({ autoAdvance: true });
      const outcome = await scope(
        async (s) => {
          const it = open() as AsyncGenerator<unknown, void, undefined>;
          await s.spawn(async () => (await it.next()).value);
          return it.next().then(
            (step) => ({ step }),
            (error: unknown) => ({ error }),
          );
        },
        { clock },
      );
      expect('error' in outcome).toBe(true);
      const error = (outcome as { error: Error }).error;
      expect(isCancellation(error)).toBe(true);
      expect(error.message).toMatch(/closed when the task that opened it ended/);
    });
  }

  test('a long-lived task may open any number of helpers: each one lets go of the scope when it closes (review D4)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let peakPending = 0;
    await scope(
      async (s) => {
        s.spawn(async ({ scope: own }) => {
          for (let k = 0; k < 200; k++) {
            for await (const _ of mapConcurrent([1, 2, 3], (x) => x, { concurrency: 2 })) {
              // consume
            }
            for await (const _ of take([1, 2, 3], { count: 2 })) {
              // consume
            }
            await sleep(1);
            peakPending = Math.max(peakPending, own.pending);
          }
        });
      },
      { clock },
    );
    // The consumer task itself, and at most the keepers of the two loops just closed.
    expect(peakPending).toBeLessThanOrEqual(3);
  });
});

describe('a late close inside a task (review D9)', () => {
  for (const [name, open] of Object.entries({
    buffer: (src: AsyncIterable<number>) => buffer(src, { size: 2 }),
    mapConcurrent: (src: AsyncIterable<number>) => mapConcurrent(src, (x) => x, { concurrency: 2 }),
    take: (src: AsyncIterable<number>) => take(src, { count: 100 }),
  })) {
    test(`${name}: the task's scope waits for a source stuck in a plain timer and raises its cleanup error`, async () => {
      const cleanup = new Error('cleanup fail');
      let finallyRan = false;
      async function* source(): AsyncGenerator<number, void, undefined> {
        try {
          for (let i = 0; i < 100; i++) {
            await new Promise((r) => setTimeout(r, 5)); // ignores cancellation
            yield i;
          }
        } finally {
          finallyRan = true;
          // biome-ignore lint/correctness/noUnsafeFinally: a failing cleanup
          throw cleanup;
        }
      }
      const error = await scope(async (s) => {
        s.spawn(async () => {
          for await (const x of open(source())) if (x === 1) break;
        });
      }).catch((e: unknown) => e);
      expect(finallyRan).toBe(true);
      const seen = [
        ...((error as AggregateError | undefined)?.errors ?? []),
        ...((error as AggregateError | undefined)?.errors ?? []).flatMap((e) =>
          suppressedErrors(e),
        ),
      ];
      expect(seen).toContain(cleanup);
    });
  }
});
