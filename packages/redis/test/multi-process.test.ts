// Many processes on one Redis: six children (Node, Bun and Deno, each with node-redis and
// with ioredis) share one rate limit, one semaphore and one queue; single children are
// killed (-9) or paused (SIGSTOP) while they hold a permit or a message.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { RedisQueue, RedisSemaphore } from '../src/index.ts';
import { type Child, killAll, MIX, type Runtime, startChild } from './children.ts';
import { connect, type TestClient, uniqueKey } from './clients.ts';
import { startRedis } from './redis-server.ts';

const redis = await startRedis();
const SLOW = 90_000;

describe.skipIf(redis === undefined)('many processes on one Redis', () => {
  let c: TestClient;
  // The six long-lived children, which run one job after another.
  let six: Child[] = [];
  // Children of a single test (killed or paused), cleaned up after it.
  let single: Child[] = [];

  beforeAll(async () => {
    c = await connect('node-redis', redis!.url);
    six = MIX.map((m) => startChild(m.runtime, { url: redis!.url, client: m.client }));
    await Promise.all(six.map((ch) => ch.next('ready')));
  }, SLOW);
  afterEach(async () => {
    killAll(single);
    await Promise.all(single.map((ch) => ch.exited));
    single = [];
  });
  afterAll(async () => {
    for (const ch of six) ch.process.stdin?.end();
    const ended = await Promise.race([
      Promise.all(six.map((ch) => ch.exited)).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 5000).unref?.()),
    ]);
    if (!ended) killAll(six);
    await Promise.all(six.map((ch) => ch.exited));
    await c.close();
    await redis?.stop();
  });

  async function startOne(runtime: Runtime, client: 'node-redis' | 'ioredis'): Promise<Child> {
    const child = startChild(runtime, { url: redis!.url, client });
    single.push(child);
    await child.next('ready');
    return child;
  }

  test(
    'six processes on one RedisRateLimiter: no window of `interval` holds more than `limit`, and throughput reaches 90%',
    async () => {
      const key = uniqueKey('mp-rl');
      const limit = 20;
      const interval = 1000;
      const until = Date.now() + 2500;
      for (const ch of six) ch.run({ mode: 'limiter', key, limit, interval, until });
      // Every grant, with its time on the server's clock (ms, µs precision).
      const done = await Promise.all(six.map((ch) => ch.next('done')));
      const times = done.flatMap((e) => e.times as number[]).sort((a, b) => a - b);
      expect(times.length).toBe(done.reduce((sum, e) => sum + Number(e.granted), 0));
      for (let i = 0; i + limit < times.length; i++) {
        expect(times[i + limit]! - times[i]!).toBeGreaterThanOrEqual(interval);
      }
      // Throughput over the whole windows from the first grant (the children stop at a
      // moment of their own, which cuts the last window short): at least 90% of the limit.
      const windows = Math.floor((times.at(-1)! - times[0]!) / interval);
      expect(windows).toBeGreaterThanOrEqual(2);
      const inWindows = times.filter((t) => t < times[0]! + windows * interval).length;
      expect(inWindows / (windows * limit)).toBeGreaterThanOrEqual(0.9);
      // every runtime/client pair was granted something
      for (const e of done) expect(Number(e.granted)).toBeGreaterThan(0);
    },
    SLOW,
  );

  test(
    'six processes on one RedisSemaphore: the holders never exceed `permits`',
    async () => {
      const key = uniqueKey('mp-sem');
      const until = Date.now() + 1200;
      for (const ch of six) ch.run({ mode: 'semaphore', key, permits: 2, lease: 5000, until });
      const done = await Promise.all(six.map((ch) => ch.next('done')));
      for (const e of done) expect(Number(e.maxSeen)).toBeLessThanOrEqual(2);
      expect(done.reduce((sum, e) => sum + Number(e.ops), 0)).toBeGreaterThanOrEqual(12);
      expect(Math.max(...done.map((e) => Number(e.maxSeen)))).toBe(2);
      expect(Number(await c.command(['ZCOUNT', `{${key}}:sem`, '(0', '+inf']))).toBe(0);
    },
    SLOW,
  );

  test(
    'every message put is acked exactly once across six consumers on Node, Bun and Deno',
    async () => {
      const key = uniqueKey('mp-q');
      await using q = new RedisQueue<number>({ client: c.client, key });
      const count = 120;
      for (let i = 0; i < count; i++) await q.put(i);
      for (const ch of six)
        ch.run({ mode: 'consume', key, visibilityTimeout: 5000, until: Date.now() + 15_000 });
      await Promise.all(six.map((ch) => ch.next('done')));
      const acked = (
        (await c.command(['LRANGE', `{${key}}:test:acked`, '0', '-1'])) as string[]
      ).map(Number);
      expect(acked.length).toBe(count);
      expect(new Set(acked).size).toBe(count);
      expect(await q.size()).toBe(0);
    },
    SLOW,
  );

  for (const runtime of ['node', 'bun', 'deno'] as const) {
    test(
      `kill -9 of a holder (${runtime}) frees its permit within one lease`,
      async () => {
        const key = uniqueKey('mp-kill');
        const lease = 600;
        const holder = await startOne(runtime, 'ioredis');
        holder.run({ mode: 'hold', key, permits: 1, lease, until: Date.now() + 30_000 });
        const held = await holder.next('held');
        await using sem = new RedisSemaphore({ client: c.client, key, permits: 1, lease });
        expect(await sem.tryAcquire()).toBeUndefined();
        const [, expiry] = pairs(
          (await c.command([
            'ZRANGE',
            `{${key}}:sem`,
            '(0',
            '+inf',
            'BYSCORE',
            'LIMIT',
            '0',
            '1',
            'WITHSCORES',
          ])) as unknown[],
        )[0]!;
        const [sec, usec] = (await c.command(['TIME'])) as [string, string];
        holder.process.kill('SIGKILL');
        await holder.exited;
        const killedAt = Number(sec) * 1e6 + Number(usec);
        // The lease the dead holder last renewed ends at most one lease after its death.
        expect(Number(expiry) - killedAt).toBeLessThanOrEqual(lease * 1000);
        const permit = await sem.acquire();
        expect(permit.token).toBeGreaterThan(Number(held.token));
        await permit.release();
      },
      SLOW,
    );
  }

  test(
    'SIGSTOP past the lease: the paused holder learns it lost the permit and its stale token is refused',
    async () => {
      const key = uniqueKey('mp-stop');
      const lease = 300;
      const holder = await startOne('node', 'node-redis');
      holder.run({ mode: 'hold', key, permits: 1, lease, until: Date.now() + 30_000 });
      const held = await holder.next('held');
      // process.kill, not ChildProcess.kill: Deno's treats the child as gone after SIGSTOP.
      process.kill(holder.process.pid!, 'SIGSTOP');
      await using sem = new RedisSemaphore({ client: c.client, key, permits: 1, lease: 5000 });
      const permit = await sem.acquire(); // after the paused holder's lease ran out
      expect(permit.token).toBeGreaterThan(Number(held.token));
      const fence = `{${key}}:test:fence`;
      const write = `local seen = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) < seen then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;
      expect(Number(await c.command(['EVAL', write, '1', fence, String(permit.token)]))).toBe(1);
      process.kill(holder.process.pid!, 'SIGCONT');
      const lost = await holder.next('lost');
      expect(lost.reason).toBe('LeaseLostError');
      const stale = await holder.next('write');
      expect(stale.accepted).toBe(false);
      await permit.release();
    },
    SLOW,
  );

  test(
    'a consumer killed before acking: its message is delivered again with deliveryCount 2',
    async () => {
      const key = uniqueKey('mp-q');
      const visibilityTimeout = 400;
      await using q = new RedisQueue<number>({ client: c.client, key, visibilityTimeout });
      await q.put(42);
      const consumer = await startOne('bun', 'ioredis');
      consumer.run({
        mode: 'consume',
        key,
        visibilityTimeout,
        crashAfter: 1,
        until: Date.now() + 30_000,
      });
      const holding = await consumer.next('holding');
      expect(holding).toMatchObject({ value: 42, deliveryCount: 1 });
      consumer.process.kill('SIGKILL');
      await consumer.exited;
      const msg = await q.get();
      expect(msg.value).toBe(42);
      expect(msg.deliveryCount).toBe(2);
      await msg.ack();
    },
    SLOW,
  );
});

/** A WITHSCORES reply, flat (RESP2) or as pairs (RESP3). */
function pairs(reply: unknown[]): [string, number][] {
  const out: [string, number][] = [];
  if (reply.length > 0 && Array.isArray(reply[0])) {
    for (const p of reply as unknown[][]) out.push([String(p[0]), Number(p[1])]);
  } else {
    for (let i = 0; i + 1 < reply.length; i += 2)
      out.push([String(reply[i]), Number(reply[i + 1])]);
  }
  return out;
}
