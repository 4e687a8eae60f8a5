import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CancelledError } from './errors.ts';
import { gather } from './gather.ts';
import { RateLimiter } from './rate-limiter.ts';
import { TestClock } from './test-clock.ts';

/** The largest cost admitted in any window [t, t + w] over the admission log. */
function maxInWindow(log: Array<{ at: number; cost: number }>, w: number): number {
  let best = 0;
  for (let i = 0; i < log.length; i++) {
    let sum = 0;
    for (let j = i; j < log.length && log[j]!.at <= log[i]!.at + w; j++) sum += log[j]!.cost;
    best = Math.max(best, sum);
  }
  return best;
}

describe('RateLimiter', () => {
  test('token bucket (explicit burst): lets a burst through, then spaces calls at limit per interval', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const limiter = new RateLimiter({ limit: 5, interval: 1000, burst: 5, clock });
    const times: number[] = [];
    await gather(
      Array.from({ length: 10 }, () => () => limiter.run(() => times.push(clock.now()))),
      { clock },
    );
    expect(times).toEqual([0, 0, 0, 0, 0, 200, 400, 600, 800, 1000]);
    expect(clock.pendingTimers).toBe(0);
  });

  test('burst: 1 spaces every call evenly; cost uses several units', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const limiter = new RateLimiter({ limit: 4, interval: 1000, burst: 1, clock });
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      await limiter.acquire();
      times.push(clock.now());
    }
    expect(times).toEqual([0, 250, 500, 750]);
    const wide = new RateLimiter({ limit: 10, interval: 1000, burst: 10, clock });
    await wide.acquire({ cost: 10 });
    const before = clock.now();
    await wide.acquire({ cost: 5 });
    expect(clock.now() - before).toBe(500);
    await expect(wide.acquire({ cost: 11 })).rejects.toThrow(/at most the burst/);
  });

  test('a cancelled waiter uses nothing and the next one moves up', async () => {
    const clock = new TestClock();
    const limiter = new RateLimiter({ limit: 1, interval: 100, clock });
    await limiter.acquire();
    const controller = new AbortController();
    const gaveUp = limiter.acquire({ signal: controller.signal });
    const next = limiter.acquire();
    controller.abort(new CancelledError());
    await expect(gaveUp).rejects.toBeInstanceOf(CancelledError);
    await clock.advance(100);
    await next;
    expect(clock.now()).toBe(100);
    const last = new AbortController();
    const alone = limiter.acquire({ signal: last.signal });
    last.abort(new CancelledError());
    await expect(alone).rejects.toBeInstanceOf(CancelledError);
    expect(clock.pendingTimers).toBe(0);
  });

  test('bad input', () => {
    expect(() => new RateLimiter({ limit: 0, interval: 1000 })).toThrow(/`options.limit`/);
    expect(() => new RateLimiter({ limit: 1, interval: 0 })).toThrow(/`options.interval`/);
    expect(() => new RateLimiter({ limit: 1, interval: -1 })).toThrow(RangeError);
    expect(() => new RateLimiter(undefined as never)).toThrow(TypeError);
  });

  test('property: never exceeds burst + limit × w / interval in any window', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 10, max: 1000 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(
          fc.record({
            at: fc.nat(3000),
            cost: fc.integer({ min: 1, max: 3 }),
            cancel: fc.option(fc.nat(500), { freq: 3 }),
          }),
          { maxLength: 30 },
        ),
        async (limit, interval, burstSeed, calls) => {
          const burst = Math.max(burstSeed, 3);
          const clock = new TestClock();
          const limiter = new RateLimiter({ limit, interval, burst, clock });
          const log: Array<{ at: number; cost: number }> = [];
          const all: Promise<void>[] = [];
          for (const call of calls) {
            clock.schedule(call.at, () => {
              const controller = new AbortController();
              if (call.cancel !== null)
                clock.schedule(call.cancel, () => controller.abort(new CancelledError()));
              all.push(
                limiter.acquire({ cost: call.cost, signal: controller.signal }).then(
                  () => void log.push({ at: clock.now(), cost: call.cost }),
                  () => {},
                ),
              );
            });
          }
          await clock.runAll();
          await Promise.all(all);
          for (const w of [0, interval / 2, interval, interval * 2.5]) {
            expect(maxInWindow(log, w)).toBeLessThanOrEqual(burst + (limit * w) / interval + 1e-6);
          }
          expect(limiter.waiting).toBe(0);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
