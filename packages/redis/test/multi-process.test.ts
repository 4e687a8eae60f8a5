// Many processes on one Redis: children on Node, Bun and Deno, with node-redis and ioredis,
// share one rate limit, one semaphore and one queue.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { RedisQueue, RedisSemaphore } from '../src/index.ts';
import { type Child, killAll, MIX, startChild } from './children.ts';
import { connect, type TestClient, uniqueKey } from './clients.ts';
import { startRedis } from './redis-server.ts';

const redis = await startRedis();
const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SLOW = 60_000;

describe.skipIf(redis === undefined)('many processes on one Redis', () => {
  let c: TestClient;
  let children: Child[] = [];
  beforeAll(async () => {
    c = await connect('node-redis', redis!.url);
  });
  afterEach(async () => {
    killAll(children);
    await Promise.all(children.map((ch) => ch.exited));
    children = [];
  });
  afterAll(async () => {
    await c.close();
    await redis?.stop();
  });

  async function launch(jobs: Record<string, unknown>[]): Promise<Child[]> {
    children = jobs.map((job, i) =>
      startChild(MIX[i % MIX.length]!.runtime, { url: redis!.url, ...job }),
    );
    await Promise.all(children.map((ch) => ch.next('ready')));
    return children;
  }

  test(
    'six processes on one RedisRateLimiter: no window of `interval` holds more than `limit`, and throughput reaches 90%',
    async () => {
      const key = uniqueKey('mp-rl');
      const limit = 20;
      const interval = 500;
      const kids = await launch(
        MIX.map((m) => ({ mode: 'limiter', client: m.client, key, limit, interval })),
      );
      const until = Date.now() + 2000;
      for (const k of kids) k.go(until);
      // The server's own log of grants (score: server time in µs) is sampled well within
      // the window, so every grant is seen before it leaves the log. Bounded by time.
      const grants = new Map<string, number>();
      const deadline = Date.now() + 10_000;
      let finished = false;
      void Promise.all(kids.map((k) => k.next('done'))).then(
        () => {
          finished = true;
        },
        () => {
          finished = true;
        },
      );
      while (!finished && Date.now() < deadline) {
        const reply = (await c.command([
          'ZRANGE',
          `{${key}}:rl:log`,
          '0',
          '-1',
          'WITHSCORES',
        ])) as unknown[];
        for (const [member, score] of pairs(reply)) grants.set(member, score);
        await tick(interval / 6);
      }
      const reply = (await c.command([
        'ZRANGE',
        `{${key}}:rl:log`,
        '0',
        '-1',
        'WITHSCORES',
      ])) as unknown[];
      for (const [member, score] of pairs(reply)) grants.set(member, score);
      const done = await Promise.all(kids.map((k) => k.next('done')));
      const total = done.reduce((sum, e) => sum + Number(e.granted), 0);
      expect(grants.size).toBe(total);
      const times = [...grants.values()].sort((a, b) => a - b);
      for (let i = 0; i + limit < times.length; i++) {
        expect(times[i + limit]! - times[i]!).toBeGreaterThanOrEqual(interval * 1000);
      }
      // Throughput over the whole windows from the first grant (the children stop at a
      // moment of their own, which cuts the last window short): at least 90% of the limit.
      const windows = Math.floor((times.at(-1)! - times[0]!) / (interval * 1000));
      expect(windows).toBeGreaterThanOrEqual(2);
      const inWindows = times.filter((t) => t < times[0]! + windows * interval * 1000).length;
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
      const kids = await launch(
        MIX.map((m) => ({ mode: 'semaphore', client: m.client, key, permits: 2, lease: 5000 })),
      );
      const until = Date.now() + 1200;
      for (const k of kids) k.go(until);
      const done = await Promise.all(kids.map((k) => k.next('done')));
      for (const e of done) expect(Number(e.maxSeen)).toBeLessThanOrEqual(2);
      expect(done.reduce((sum, e) => sum + Number(e.ops), 0)).toBeGreaterThanOrEqual(12);
      expect(Math.max(...done.map((e) => Number(e.maxSeen)))).toBe(2);
      expect(Number(await c.command(['ZCARD', `{${key}}:sem:holders`]))).toBe(0);
    },
    SLOW,
  );

  for (const runtime of ['node', 'bun', 'deno'] as const) {
    test(
      `kill -9 of a holder (${runtime}) frees its permit within one lease`,
      async () => {
        const key = uniqueKey('mp-kill');
        const lease = 600;
        children = [
          startChild(runtime, {
            url: redis!.url,
            mode: 'hold',
            client: 'ioredis',
            key,
            permits: 1,
            lease,
          }),
        ];
        const holder = children[0]!;
        await holder.next('ready');
        holder.go(Date.now() + 30_000);
        await holder.next('held');
        await using sem = new RedisSemaphore({ client: c.client, key, permits: 1, lease });
        expect(await sem.tryAcquire()).toBeUndefined();
        const [expiry] = pairs(
          (await c.command([
            'ZRANGE',
            `{${key}}:sem:holders`,
            '0',
            '0',
            'WITHSCORES',
          ])) as unknown[],
        );
        const [sec, usec] = (await c.command(['TIME'])) as [string, string];
        holder.process.kill('SIGKILL');
        await holder.exited;
        const killedAt = Number(sec) * 1e6 + Number(usec);
        // The lease the dead holder last renewed ends at most one lease after its death.
        expect(expiry![1] - killedAt).toBeLessThanOrEqual(lease * 1000);
        const started = performance.now();
        const permit = await sem.acquire();
        expect(performance.now() - started).toBeLessThan(lease + 1000);
        expect(permit.token).toBeGreaterThan(Number((await holder.next('held')).token));
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
      children = [
        startChild('node', {
          url: redis!.url,
          mode: 'hold',
          client: 'node-redis',
          key,
          permits: 1,
          lease,
        }),
      ];
      const holder = children[0]!;
      await holder.next('ready');
      holder.go(Date.now() + 30_000);
      const held = await holder.next('held');
      process.kill(holder.process.pid!, 'SIGSTOP'); // (Deno's ChildProcess.kill treats the child as gone after it)
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
    'every message put is acked exactly once across consumers on Node, Bun and Deno',
    async () => {
      const key = uniqueKey('mp-q');
      await using q = new RedisQueue<number>({ client: c.client, key });
      const kids = await launch(
        MIX.map((m) => ({ mode: 'consume', client: m.client, key, visibilityTimeout: 5000 })),
      );
      const count = 120;
      for (let i = 0; i < count; i++) await q.put(i);
      for (const k of kids) k.go(Date.now() + 15_000);
      await Promise.all(kids.map((k) => k.next('done')));
      const acked = (
        (await c.command(['LRANGE', `{${key}}:test:acked`, '0', '-1'])) as string[]
      ).map(Number);
      expect(acked.length).toBe(count);
      expect(new Set(acked).size).toBe(count);
      expect(await q.size()).toBe(0);
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
      children = [
        startChild('bun', {
          url: redis!.url,
          mode: 'consume',
          client: 'ioredis',
          key,
          visibilityTimeout,
          crashAfter: 1,
        }),
      ];
      const consumer = children[0]!;
      await consumer.next('ready');
      consumer.go(Date.now() + 30_000);
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
