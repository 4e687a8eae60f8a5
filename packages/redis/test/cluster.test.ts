// The three primitives on a real 3-master Redis Cluster, through node-redis's
// createCluster and ioredis's Cluster: every script's keys stay in one slot (hash tags),
// commands reach the master holding them, blocking reads and their CLIENT UNBLOCK go to
// that master, and pub/sub wake-ups arrive.
import { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RedisAdapter, toRedisAdapter } from '../src/client.ts';
import { keySlot } from '../src/internal/slot.ts';
import { RedisQueue, RedisRateLimiter, RedisSemaphore } from '../src/index.ts';
import { uniqueKey } from './clients.ts';
import { startCluster } from './redis-cluster.ts';

const cluster = await startCluster();
if (cluster === undefined) {
  console.log(
    'redis cluster: SKIPPED, no redis-server; install it with: sudo apt-get install -y redis-server',
  );
}

// The master of each third of the slots, as the test cluster assigns them.
const MASTER_RANGES = [5460, 10922, 16383];
const masterOf = (slot: number): number => MASTER_RANGES.findIndex((end) => slot <= end);

/** A fresh key for each of the three masters. */
function keysOnEveryMaster(prefix: string): string[] {
  const keys: (string | undefined)[] = [undefined, undefined, undefined];
  while (keys.includes(undefined)) {
    const key = uniqueKey(prefix);
    const m = masterOf(keySlot(`{${key}}`));
    if (keys[m] === undefined) keys[m] = key;
  }
  return keys as string[];
}

interface ClusterClient {
  client: unknown;
  close(): Promise<void>;
}

async function connectCluster(kind: 'node-redis' | 'ioredis'): Promise<ClusterClient> {
  const nodes = cluster!.nodes;
  if (kind === 'node-redis') {
    const c = createCluster({
      rootNodes: nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })),
    });
    c.on('error', () => {});
    await c.connect();
    return { client: c, close: async () => c.destroy() };
  }
  const c = new Cluster([...nodes], { lazyConnect: true });
  c.on('error', () => {});
  await c.connect();
  return {
    client: c,
    close: async () => {
      c.disconnect();
    },
  };
}

describe.skipIf(cluster === undefined)('Redis Cluster (3 masters)', () => {
  afterAll(async () => {
    await cluster?.stop();
  });

  for (const kind of ['node-redis', 'ioredis'] as const) {
    describe(kind, () => {
      let c: ClusterClient;
      let redis: RedisAdapter;
      beforeAll(async () => {
        c = await connectCluster(kind);
        redis = toRedisAdapter(c.client);
      });
      afterAll(async () => {
        await c.close();
      });

      test("the key slot weft computes is the cluster's own", async () => {
        for (const key of [...keysOnEveryMaster('slot'), 'foo', 'a{}b{c}', '{x}:q:dead']) {
          expect(Number(await redis.send(['CLUSTER', 'KEYSLOT', key]))).toBe(keySlot(key));
        }
      });

      test('rate limiters on keys of every master: strict window and token bucket', async () => {
        for (const key of keysOnEveryMaster('cl-rl')) {
          const window = new RedisRateLimiter({
            client: c.client,
            key,
            limit: 3,
            interval: 60_000,
          });
          for (let i = 0; i < 3; i++) expect(await window.tryAcquire()).toBe(true);
          expect(await window.tryAcquire()).toBe(false);
          const bucket = new RedisRateLimiter({
            client: c.client,
            key: `${key}:b`,
            limit: 1,
            interval: 60_000,
            burst: 2,
          });
          expect(await bucket.tryAcquire()).toBe(true);
          expect(await bucket.tryAcquire()).toBe(true);
          expect(await bucket.tryAcquire()).toBe(false);
        }
      });

      test('semaphores on keys of every master: a release wakes a waiter of another instance (pub/sub)', async () => {
        for (const key of keysOnEveryMaster('cl-sem')) {
          // A lease of a minute: the fallback timer would only fire after the test's timeout,
          // so only the pub/sub wake-up can end the wait in time.
          await using a = new RedisSemaphore({ client: c.client, key, permits: 1, lease: 60_000 });
          await using b = new RedisSemaphore({ client: c.client, key, permits: 1, lease: 60_000 });
          const held = await a.acquire();
          const waiting = b.acquire();
          await new Promise((r) => setTimeout(r, 50));
          expect(b.waiting).toBe(1);
          await held.release();
          const next = await waiting;
          expect(next.token).toBeGreaterThan(held.token);
          expect(next.signal.aborted).toBe(false);
          await next.release();
          expect(
            Number(await redis.send(['ZCOUNT', `{${key}}:sem`, '(0', '+inf'], `{${key}}`)),
          ).toBe(0);
        }
      });

      test('queues on keys of every master: put, blocking get, ack, nack, dead letters', async () => {
        for (const key of keysOnEveryMaster('cl-q')) {
          await using producer = new RedisQueue<{ n: number }>({ client: c.client, key });
          await using consumer = new RedisQueue<{ n: number }>({
            client: c.client,
            key,
            maxDeliveries: 2,
          });
          // A get that blocks on the master holding the stream, then a put wakes it.
          const got = consumer.get();
          await new Promise((r) => setTimeout(r, 30));
          await producer.put({ n: 1 });
          const first = await got;
          expect(first.value).toEqual({ n: 1 });
          expect(first.deliveryCount).toBe(1);
          await first.nack();
          const again = await consumer.get();
          expect(again.value).toEqual({ n: 1 });
          expect(again.deliveryCount).toBe(2);
          // Its last delivery: a nack sends it to the dead-letter stream.
          await again.nack();
          expect(
            Number(await redis.send(['XLEN', consumer.deadLetterStream], consumer.stream)),
          ).toBe(1);
          const seen: number[] = [];
          for (let n = 2; n <= 4; n++) await producer.put({ n });
          // The loop acks each message when its body returns (a break would give it back).
          for await (const msg of consumer) {
            seen.push(msg.value.n);
            if (seen.length === 3) {
              await msg.ack();
              break;
            }
          }
          expect(seen).toEqual([2, 3, 4]);
          expect(await producer.size()).toBe(0);
        }
      });

      test('cancelling a blocked get settles within 50 ms (CLIENT UNBLOCK on the right master)', async () => {
        for (const key of keysOnEveryMaster('cl-qc')) {
          await using q = new RedisQueue<string>({
            client: c.client,
            key,
            visibilityTimeout: 20_000,
          });
          const controller = new AbortController();
          const blocked = q.get({ signal: controller.signal });
          // Let the read reach the server and block there (up to 5 s).
          await new Promise((r) => setTimeout(r, 100));
          const started = performance.now();
          controller.abort(new Error('stop'));
          await expect(blocked).rejects.toThrow('stop');
          expect(performance.now() - started).toBeLessThan(50);
          // The connection is free again: a put and a get go through at once.
          await q.put('after');
          const msg = await q.get({ signal: AbortSignal.timeout(2000) });
          expect(msg.value).toBe('after');
          await msg.ack();
        }
      });
    });
  }
});
