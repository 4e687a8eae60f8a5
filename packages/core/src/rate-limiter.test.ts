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

describe('RateLimiter: strict by default (defect 15)', () => {
  test('5 per second never lets a 6th call into any second', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const limiter = new RateLimiter({ limit: 5, interval: 1000, clock });
    expect(limiter.burst).toBeUndefined();
    const times: number[] = [];
    await gather(
      Array.from({ length: 12 }, () => () => limiter.run(() => times.push(clock.now()))),
      { clock },
    );
    expect(times).toEqual([0, 0, 0, 0, 0, 1000, 1000, 1000, 1000, 1000, 2000, 2000]);
    expect(
      maxInWindow(
        times.map((at) => ({ at, cost: 1 })),
        999.999,
      ),
    ).toBe(5);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a unit frees up exactly `interval` after it went through', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const limiter = new RateLimiter({ limit: 2, interval: 100, clock });
    await limiter.acquire();
    await clock.advance(30);
    await limiter.acquire();
    const before = clock.now();
    await limiter.acquire();
    expect([before, clock.now()]).toEqual([30, 100]);
    await limiter.acquire();
    expect(clock.now()).toBe(130);
  });

  test('cost counts against the limit; a cost above the limit is a RangeError', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const limiter = new RateLimiter({ limit: 10, interval: 1000, clock });
    await limiter.acquire({ cost: 8 });
    await limiter.acquire({ cost: 2 });
    await limiter.acquire({ cost: 3 });
    expect(clock.now()).toBe(1000);
    await expect(limiter.acquire({ cost: 11 })).rejects.toThrow(/at most the limit \(10\)/);
    await expect(limiter.acquire({ cost: 0 })).rejects.toThrow(/`options.cost`/);
  });

  test('FIFO: a big cost at the head is not overtaken by small ones', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const limiter = new RateLimiter({ limit: 3, interval: 100, clock });
    await limiter.acquire({ cost: 2 });
    const order: string[] = [];
    await Promise.all([
      limiter.acquire({ cost: 3 }).then(() => order.push(`big@${clock.now()}`)),
      limiter.acquire({ cost: 1 }).then(() => order.push(`small@${clock.now()}`)),
    ]);
    expect(order).toEqual(['big@100', 'small@200']);
  });

  test('run gives fn the caller’s signal; acquire resolves with a permit', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const limiter = new RateLimiter({ limit: 1, interval: 100, clock });
    const controller = new AbortController();
    expect(await limiter.run(({ signal }) => signal, { signal: controller.signal })).toBe(
      controller.signal,
    );
    const permit = await limiter.acquire();
    expect(permit.released).toBe(false);
    permit.release();
    expect(permit.released).toBe(true);
    expect(() => permit.release()).toThrow(TypeError);
  });

  test('unknown option keys are a TypeError', async () => {
    expect(() => new RateLimiter({ limit: 1, interval: 1, intervall: 5 } as never)).toThrow(
      /Unknown option `options.intervall`.*`interval`/,
    );
    const limiter = new RateLimiter({ limit: 1, interval: 1 });
    await expect(limiter.acquire({ cots: 2 } as never)).rejects.toThrow(/`options.cots`/);
    expect(
      () => new RateLimiter({ limit: 1, interval: 1, burst: Number.POSITIVE_INFINITY }),
    ).toThrow(RangeError);
  });

  test('property: at most `limit` in any window of `interval`, FIFO, and no waiter waits longer than the window requires', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 10, max: 500 }),
        fc.array(
          fc.record({
            at: fc.nat(2000),
            cost: fc.integer({ min: 1, max: 3 }),
            cancel: fc.option(fc.nat(400), { freq: 3 }),
          }),
          { maxLength: 30 },
        ),
        async (limit, interval, calls) => {
          const clock = new TestClock();
          const limiter = new RateLimiter({ limit, interval, clock });
          interface Call {
            seq: number;
            requested: number;
            cost: number;
            granted?: number;
            cancelled?: number;
          }
          const log: Call[] = [];
          const all: Promise<void>[] = [];
          for (const spec of calls) {
            const cost = Math.min(spec.cost, limit);
            clock.schedule(spec.at, () => {
              const call: Call = { seq: log.length, requested: clock.now(), cost };
              log.push(call);
              const controller = new AbortController();
              if (spec.cancel !== null) {
                clock.schedule(spec.cancel, () => {
                  if (call.granted === undefined) call.cancelled = clock.now();
                  controller.abort(new CancelledError());
                });
              }
              all.push(
                limiter.acquire({ cost, signal: controller.signal }).then(
                  () => {
                    call.granted = clock.now();
                  },
                  () => {},
                ),
              );
            });
          }
          await clock.runAll();
          await Promise.all(all);
          const granted = log.filter((c) => c.granted !== undefined);
          // 1. Strict: at most `limit` in any half-open window [t, t + interval).
          for (const start of granted) {
            const inWindow = granted.filter(
              (c) => c.granted! >= start.granted! && c.granted! < start.granted! + interval,
            );
            expect(inWindow.reduce((sum, c) => sum + c.cost, 0)).toBeLessThanOrEqual(limit);
          }
          // 2. FIFO: granted in the order requested.
          const byGrant = [...granted].sort((a, b) => a.granted! - b.granted! || a.seq - b.seq);
          expect(byGrant.map((c) => c.seq)).toEqual(granted.map((c) => c.seq));
          // 3. Exact: a waiter let through later than requested could not go just before,
          // because the window was full or an earlier waiter was still ahead of it.
          for (const c of granted) {
            const g = c.granted!;
            if (g === c.requested) continue;
            const used = granted
              .filter((o) => o !== c && o.granted! >= g - interval && o.granted! < g)
              .reduce((sum, o) => sum + o.cost, 0);
            const aheadUntilNow = log.some(
              (o) => o.seq < c.seq && o.requested <= g && (o.granted === g || o.cancelled === g),
            );
            expect(used + c.cost > limit || aheadUntilNow).toBe(true);
          }
          expect(limiter.waiting).toBe(0);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
