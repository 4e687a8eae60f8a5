import { describe, expect, expectTypeOf, test } from 'vitest';
import type {
  AsyncPermit,
  Permit,
  QueueLike,
  RateLimiterLike,
  RunContext,
  SemaphoreLike,
} from './interfaces.ts';
import { Queue } from './queue.ts';
import { RateLimiter } from './rate-limiter.ts';
import { Mutex, Semaphore } from './semaphore.ts';
import { TestClock } from './test-clock.ts';

/** Code written against the interfaces only, as `@weft/http`'s `rateLimit` would be. */
async function guarded<T>(
  limiter: RateLimiterLike,
  sem: SemaphoreLike,
  work: (ctx: RunContext) => Promise<T>,
): Promise<T> {
  await using _pass = await limiter.acquire({ cost: 1 });
  return sem.run(work);
}

async function pump(queue: QueueLike<number>, items: number[]): Promise<number[]> {
  for (const n of items) await queue.put(n);
  await queue.close();
  const out: number[] = [];
  for await (const n of queue) out.push(n);
  return out;
}

describe('shared async interfaces', () => {
  test('the core classes implement them', () => {
    expectTypeOf<Semaphore>().toMatchTypeOf<SemaphoreLike>();
    expectTypeOf<Mutex>().toMatchTypeOf<SemaphoreLike>();
    expectTypeOf<RateLimiter>().toMatchTypeOf<RateLimiterLike>();
    expectTypeOf<Queue<string>>().toMatchTypeOf<QueueLike<string>>();
    expectTypeOf<Permit>().toMatchTypeOf<AsyncPermit>();
    expectTypeOf<Permit>().toMatchTypeOf<Disposable>();
    expectTypeOf<RunContext['signal']>().toEqualTypeOf<AbortSignal>();
  });

  test('code written against the interfaces works with the core classes', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const limiter = new RateLimiter({ limit: 2, interval: 100, clock });
    const sem = new Semaphore(1);
    const results = await Promise.all(
      [1, 2, 3].map((n) => guarded(limiter, sem, async ({ signal }) => (signal.aborted ? 0 : n))),
    );
    expect(results).toEqual([1, 2, 3]);
    expect(clock.now()).toBe(100);
    expect(await pump(new Queue<number>({ capacity: 4 }), [1, 2, 3])).toEqual([1, 2, 3]);
  });
});
