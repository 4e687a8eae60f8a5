import { scope, TimeoutError, timeout } from '@weft/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLIENT_KINDS, connect, ioredis, type TestClient, uniqueKey } from '../test/clients.ts';
import { startRedis } from '../test/redis-server.ts';
import { RedisCommandError } from './errors.ts';
import { RedisRateLimiter } from './rate-limiter.ts';

const redis = await startRedis();

describe.skipIf(redis === undefined)('RedisRateLimiter', () => {
  afterAll(async () => {
    await redis?.stop();
  });

  for (const kind of CLIENT_KINDS) {
    describe(kind, () => {
      let c: TestClient;
      beforeAll(async () => {
        c = await connect(kind, redis!.url);
      });
      afterAll(async () => {
        await c.close();
      });

      test('lets `limit` through at once, then refuses until the window moves on', async () => {
        const limiter = new RedisRateLimiter({
          client: c.client,
          key: uniqueKey('rl'),
          limit: 3,
          interval: 60_000,
        });
        for (let i = 0; i < 3; i++) expect(await limiter.tryAcquire()).toBe(true);
        expect(await limiter.tryAcquire()).toBe(false);
      });

      test('never lets more than `limit` through in any window (strict sliding window)', async () => {
        const key = uniqueKey('rl');
        const limiter = new RedisRateLimiter({ client: c.client, key, limit: 5, interval: 200 });
        const times: number[] = [];
        await Promise.all(
          Array.from({ length: 15 }, async () => {
            await limiter.acquire();
            times.push(Number(await serverTimeUs(c)));
          }),
        );
        times.sort((a, b) => a - b);
        // The grant times from the server's own log are the authority.
        const log = (await c.command(['LRANGE', `{${key}}:rl:times`, '0', '-1'])) as unknown[];
        const scores = log.map(Number).sort((a, b) => a - b);
        expect(scores.length).toBeGreaterThan(0);
        for (let i = 0; i + 5 < scores.length; i++) {
          expect(scores[i + 5]! - scores[i]!).toBeGreaterThanOrEqual(200_000);
        }
        expect(times.length).toBe(15);
      });

      test('serves waiters of one process in FIFO order', async () => {
        const limiter = new RedisRateLimiter({
          client: c.client,
          key: uniqueKey('rl'),
          limit: 2,
          interval: 100,
        });
        const order: number[] = [];
        await Promise.all(
          Array.from({ length: 6 }, (_, i) => limiter.acquire().then(() => order.push(i))),
        );
        expect(order).toEqual([0, 1, 2, 3, 4, 5]);
      });

      test('a cancelled wait rejects with the reason, uses nothing and leaves no listener', async () => {
        const key = uniqueKey('rl');
        const limiter = new RedisRateLimiter({ client: c.client, key, limit: 1, interval: 60_000 });
        await limiter.acquire();
        const controller = new AbortController();
        let listeners = 0;
        const add = controller.signal.addEventListener.bind(controller.signal);
        const remove = controller.signal.removeEventListener.bind(controller.signal);
        controller.signal.addEventListener = ((
          t: string,
          l: EventListener,
          o?: AddEventListenerOptions,
        ) => {
          listeners++;
          add(t, l, o);
        }) as typeof controller.signal.addEventListener;
        controller.signal.removeEventListener = ((
          t: string,
          l: EventListener,
          o?: EventListenerOptions,
        ) => {
          listeners--;
          remove(t, l, o);
        }) as typeof controller.signal.removeEventListener;
        const wait = limiter.acquire({ signal: controller.signal });
        await new Promise((r) => setTimeout(r, 20));
        const reason = new Error('stop');
        const started = performance.now();
        controller.abort(reason);
        await expect(wait).rejects.toBe(reason);
        expect(performance.now() - started).toBeLessThan(50);
        expect(limiter.waiting).toBe(0);
        expect(listeners).toBe(0);
        expect(Number(await c.command(['LLEN', `{${key}}:rl:times`]))).toBe(1);
      });

      for (const burst of [undefined, 1]) {
        test(`a wait cancelled while its script is in flight gives the grant back (${burst === undefined ? 'sliding window' : 'token bucket'})`, async () => {
          const key = uniqueKey('rl');
          const limiter = new RedisRateLimiter({
            client: c.client,
            key,
            limit: 1,
            interval: 60_000,
            burst,
          });
          const controller = new AbortController();
          // acquire() sends the script at once; the abort lands before its reply.
          const wait = limiter.acquire({ signal: controller.signal });
          controller.abort(new Error('stop'));
          await expect(wait).rejects.toThrow('stop');
          // The give-back runs after the grant's reply: wait until it has (or give up).
          let granted = false;
          for (let i = 0; i < 100 && !granted; i++) {
            granted = await limiter.tryAcquire();
            if (!granted) await new Promise((r) => setTimeout(r, 10));
          }
          expect(granted).toBe(true);
          // And only one unit is in use now: the one tryAcquire took.
          expect(await limiter.tryAcquire()).toBe(false);
        });
      }

      test('inside a task, the wait is cancelled with the task and fails early past its deadline', async () => {
        const limiter = new RedisRateLimiter({
          client: c.client,
          key: uniqueKey('rl'),
          limit: 1,
          interval: 60_000,
        });
        await limiter.acquire();
        // The script says the next slot is a minute away: no point waiting for a 1 s deadline.
        const early = timeout(1000, () => limiter.acquire());
        await expect(early).rejects.toBeInstanceOf(TimeoutError);
        await expect(early).rejects.toThrow('after the enclosing deadline');
        const cancelled = scope(async (s) => {
          s.spawn(() => limiter.acquire());
          await new Promise((r) => setTimeout(r, 10));
          throw new Error('sibling failed');
        });
        await expect(cancelled).rejects.toThrow();
        expect(limiter.waiting).toBe(0);
      });

      test('with `burst`, a token bucket: `burst` at once, then `limit` per `interval`', async () => {
        const limiter = new RedisRateLimiter({
          client: c.client,
          key: uniqueKey('rl'),
          limit: 10,
          interval: 1000,
          burst: 4,
        });
        let granted = 0;
        while (await limiter.tryAcquire()) granted++;
        expect(granted).toBe(4);
        const started = performance.now();
        await limiter.acquire();
        // one token refills in interval/limit = 100 ms (server time); never sooner than ~that
        expect(performance.now() - started).toBeGreaterThanOrEqual(50);
      });

      test('counts `cost` units in the sliding window, large costs included', async () => {
        const key = uniqueKey('rl');
        const limiter = new RedisRateLimiter({
          client: c.client,
          key,
          limit: 3000,
          interval: 60_000,
        });
        // 2500 units go in batches inside the script; 500 are left, so 501 is refused.
        expect(await limiter.tryAcquire({ cost: 2500 })).toBe(true);
        expect(Number(await c.command(['LLEN', `{${key}}:rl:times`]))).toBe(2500);
        expect(await limiter.tryAcquire({ cost: 501 })).toBe(false);
        expect(await limiter.tryAcquire({ cost: 500 })).toBe(true);
        expect(await limiter.tryAcquire()).toBe(false);
        // The refusal tells when enough leaves the window: a minute, far past a 1 s deadline.
        await expect(timeout(1000, () => limiter.acquire({ cost: 2 }))).rejects.toBeInstanceOf(
          TimeoutError,
        );
      });

      test('a cancelled grant of several units gives all of them back', async () => {
        const key = uniqueKey('rl');
        const limiter = new RedisRateLimiter({
          client: c.client,
          key,
          limit: 1500,
          interval: 60_000,
        });
        const controller = new AbortController();
        const wait = limiter.acquire({ cost: 1200, signal: controller.signal });
        controller.abort(new Error('stop'));
        await expect(wait).rejects.toThrow('stop');
        // The give-back runs after the grant's reply: wait until the whole limit is free.
        let granted = false;
        for (let i = 0; i < 100 && !granted; i++) {
          granted = await limiter.tryAcquire({ cost: 1500 });
          if (!granted) await new Promise((r) => setTimeout(r, 10));
        }
        expect(granted).toBe(true);
        expect(Number(await c.command(['LLEN', `{${key}}:rl:times`]))).toBe(1500);
      });

      test('grants that left the window do not pile up (trimmed at least every 64 units)', async () => {
        const key = uniqueKey('rl');
        const limiter = new RedisRateLimiter({
          client: c.client,
          key,
          limit: 1_000_000,
          interval: 20,
        });
        for (let round = 0; round < 4; round++) {
          for (let i = 0; i < 50; i++) expect(await limiter.tryAcquire()).toBe(true);
          await new Promise((r) => setTimeout(r, 30));
        }
        // 200 grants, all but the last 50 out of the 20 ms window long ago.
        expect(Number(await c.command(['LLEN', `{${key}}:rl:times`]))).toBeLessThanOrEqual(50 + 64);
      });

      test('a refused unit leaves the log as it was (the push of the common path is taken back)', async () => {
        const key = uniqueKey('rl');
        const limiter = new RedisRateLimiter({ client: c.client, key, limit: 3, interval: 60_000 });
        for (let i = 0; i < 3; i++) expect(await limiter.tryAcquire()).toBe(true);
        const before = (await c.command(['LRANGE', `{${key}}:rl:times`, '0', '-1'])) as unknown[];
        for (let i = 0; i < 5; i++) expect(await limiter.tryAcquire()).toBe(false);
        const after = (await c.command(['LRANGE', `{${key}}:rl:times`, '0', '-1'])) as unknown[];
        expect(after.map(String)).toEqual(before.map(String));
        // The log keeps its time to live (the interval plus 1 ms), refusals included.
        const ttl = Number(await c.command(['PTTL', `{${key}}:rl:times`]));
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_001);
      });

      test('a grant records the server time it reports, and the log expires one interval after it', async () => {
        const key = uniqueKey('rl');
        const limiter = new RedisRateLimiter({ client: c.client, key, limit: 10, interval: 5000 });
        const before = Number(await serverTimeUs(c));
        const permit = await limiter.acquire();
        const after = Number(await serverTimeUs(c));
        const log = (await c.command(['LRANGE', `{${key}}:rl:times`, '0', '-1'])) as unknown[];
        expect(log.map(String)).toEqual([String(Math.round(permit.grantedAt * 1000))]);
        expect(permit.grantedAt * 1000).toBeGreaterThanOrEqual(before);
        expect(permit.grantedAt * 1000).toBeLessThanOrEqual(after);
        const ttl = Number(await c.command(['PTTL', `{${key}}:rl:times`]));
        expect(ttl).toBeGreaterThan(4000);
        expect(ttl).toBeLessThanOrEqual(5001);
      });

      test('at a multiple of 64, units still inside the window are never trimmed', async () => {
        // 63 units, a pause shorter than the window, then the 64th: the look at the 64th
        // (its own push) finds it inside the window and trims nothing; the 65th is refused.
        const key = uniqueKey('rl');
        const limiter = new RedisRateLimiter({
          client: c.client,
          key,
          limit: 64,
          interval: 60_000,
        });
        for (let i = 0; i < 64; i++) expect(await limiter.tryAcquire()).toBe(true);
        expect(Number(await c.command(['LLEN', `{${key}}:rl:times`]))).toBe(64);
        expect(await limiter.tryAcquire()).toBe(false);
        expect(Number(await c.command(['LLEN', `{${key}}:rl:times`]))).toBe(64);
      });

      test('at the limit, units that left the window are trimmed exactly and the next is let through', async () => {
        const key = uniqueKey('rl');
        const limiter = new RedisRateLimiter({ client: c.client, key, limit: 70, interval: 50 });
        for (let i = 0; i < 70; i++) expect(await limiter.tryAcquire()).toBe(true);
        await new Promise((r) => setTimeout(r, 80));
        expect(await limiter.tryAcquire()).toBe(true);
        // The 70 old ones all left (the last pass kept only its own unit).
        expect(Number(await c.command(['LLEN', `{${key}}:rl:times`]))).toBe(1);
      });

      test('rejects bad options with a clear message', async () => {
        expect(
          () => new RedisRateLimiter({ client: c.client, key: 'k', limit: 0, interval: 10 }),
        ).toThrow('Expected `limit` to be an integer from 1 and up, got `0` (number)');
        expect(
          () =>
            new RedisRateLimiter({
              client: c.client,
              key: 'k',
              limit: 1,
              interval: 10,
              brust: 3,
            } as never),
        ).toThrow('Did you mean `burst`?');
        expect(
          () => new RedisRateLimiter({ client: {}, key: 'k', limit: 1, interval: 10 }),
        ).toThrow(TypeError);
        const limiter = new RedisRateLimiter({
          client: c.client,
          key: 'k',
          limit: 2,
          interval: 10,
        });
        // Rejects, as core's limiters do: code written against the interface catches it.
        await expect(limiter.acquire({ cost: 3 })).rejects.toThrow('at most `limit` (2)');
      });
    });
  }

  // An ioredis connection behind an adapter that records what is sent and can fail the
  // next EVALSHA.
  const recording = (io: Redis) => {
    const state = { sent: [] as string[], failNext: false };
    const adapter = {
      send: (args: readonly string[]) => {
        state.sent.push(args[0]!);
        if (state.failNext && args[0] === 'EVALSHA') {
          state.failNext = false;
          return Promise.reject(new Error('connection reset'));
        }
        return io.call(args[0]!, ...args.slice(1));
      },
      duplicate: async () => adapter,
      subscribe: async () => {},
      close: async () => {},
    };
    return { adapter, state };
  };

  test('a grant in flight for a waiter cancelled meanwhile goes to the waiter queued behind it', async () => {
    using io = ioredis(redis!.url);
    const key = uniqueKey('rl');
    const { adapter, state } = recording(io);
    const limiter = new RedisRateLimiter({ client: adapter, key, limit: 1, interval: 60_000 });
    const controller = new AbortController();
    const first = limiter.acquire({ signal: controller.signal });
    const second = limiter.acquire();
    expect(state.sent).toEqual(['EVALSHA']); // one script in flight, the second waits
    controller.abort(new Error('stop'));
    await expect(first).rejects.toThrow('stop');
    const pass = await second;
    expect(pass.grantedAt).toBeGreaterThan(1e12);
    // The second used the first's grant: one script, one unit in the window.
    expect(state.sent).toEqual(['EVALSHA']);
    expect(Number(await io.call('LLEN', `{${key}}:rl:times`))).toBe(1);
  });

  test('a failed first script call rejects that acquire only; the next one is served', async () => {
    using io = ioredis(redis!.url);
    const key = uniqueKey('rl');
    const { adapter, state } = recording(io);
    const limiter = new RedisRateLimiter({ client: adapter, key, limit: 5, interval: 60_000 });
    state.failNext = true;
    const first = limiter.acquire();
    const second = limiter.acquire();
    await expect(first).rejects.toThrow(RedisCommandError);
    await expect(first).rejects.toMatchObject({ cause: { message: 'connection reset' } });
    await expect(second).resolves.toBeDefined();
    expect(Number(await io.call('LLEN', `{${key}}:rl:times`))).toBe(1);
  });

  test('after SCRIPT FLUSH (a restarted server), acquire loads the script again with EVAL', async () => {
    using io = ioredis(redis!.url);
    const { adapter, state } = recording(io);
    for (const burst of [undefined, 10]) {
      const limiter = new RedisRateLimiter({
        client: adapter,
        key: uniqueKey('rl'),
        limit: 10,
        interval: 60_000,
        burst,
      });
      await limiter.acquire();
      await io.call('SCRIPT', 'FLUSH');
      state.sent.length = 0;
      await limiter.acquire();
      expect(state.sent).toEqual(['EVALSHA', 'EVAL']);
    }
  });
});

async function serverTimeUs(c: TestClient): Promise<bigint> {
  const [s, us] = (await c.command(['TIME'])) as [string, string];
  return BigInt(s) * 1_000_000n + BigInt(us);
}
