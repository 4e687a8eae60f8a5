// Redis killed (SIGKILL, no persistence) and started again mid-run: the clients reconnect,
// nothing is double-counted, and what happens is the failure mode the README documents:
// a restart without persistence forgets windows, holders and messages.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LeaseLostError, RedisQueue, RedisRateLimiter, RedisSemaphore } from '../src/index.ts';
import { CLIENT_KINDS, connect, type TestClient, uniqueKey } from './clients.ts';
import { startRedis } from './redis-server.ts';

const redis = await startRedis();
const owned = redis?.owned === true;

async function reachable(c: TestClient): Promise<void> {
  // Bounded: the clients reconnect with their own backoff.
  for (let i = 0; i < 100; i++) {
    const ok = await c.command(['PING']).then(
      () => true,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the client did not reconnect');
}

describe.skipIf(!owned)('a Redis restart without persistence', () => {
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

      test('the rate window is forgotten (up to `limit` more get through), and nothing is counted twice', async () => {
        const limiter = new RedisRateLimiter({
          client: c.client,
          key: uniqueKey('rs'),
          limit: 3,
          interval: 60_000,
        });
        for (let i = 0; i < 3; i++) expect(await limiter.tryAcquire()).toBe(true);
        expect(await limiter.tryAcquire()).toBe(false);
        await redis!.restart();
        await reachable(c);
        // Documented: the window is gone, so a full `limit` is admitted again, but no more.
        let admitted = 0;
        for (let i = 0; i < 5; i++) if (await limiter.tryAcquire()) admitted++;
        expect(admitted).toBe(3);
      });

      test("a held permit's signal aborts with LeaseLostError, and the semaphore works again", async () => {
        const key = uniqueKey('rs');
        await using sem = new RedisSemaphore({ client: c.client, key, permits: 1, lease: 300 });
        const permit = await sem.acquire();
        await redis!.restart();
        await reachable(c);
        // It may have aborted already while the client reconnected.
        if (!permit.signal.aborted) {
          await new Promise((resolve) =>
            permit.signal.addEventListener('abort', resolve, { once: true }),
          );
        }
        expect(permit.signal.reason).toBeInstanceOf(LeaseLostError);
        const next = await sem.acquire();
        await next.release();
        await permit.release(); // releasing a lost permit is harmless
      });

      test('queued messages are lost; the queue recreates its group and works again', async () => {
        const key = uniqueKey('rs');
        await using q = new RedisQueue<number>({ client: c.client, key, visibilityTimeout: 1000 });
        await q.put(1);
        const first = await q.get();
        await first.ack();
        await q.put(2);
        await redis!.restart();
        await reachable(c);
        expect(await q.size()).toBe(0); // documented: without persistence, message 2 is gone
        await q.put(3);
        const msg = await q.get({ signal: AbortSignal.timeout(5000) });
        expect([msg.value, msg.deliveryCount]).toEqual([3, 1]);
        await msg.ack();
      });

      test("a held message's signal aborts at the next renewal (no longer held), and ack() rejects with LeaseLostError (X7)", async () => {
        const key = uniqueKey('rs');
        // Renewed every 1.5 s: the signal aborting "could not be renewed in time" would
        // take the whole 4.5 s; "no longer holds" comes from a renewal Redis answered.
        await using q = new RedisQueue<number>({ client: c.client, key, visibilityTimeout: 4500 });
        await q.put(1);
        await q.put(2);
        const held = await q.get();
        const other = await q.get();
        await redis!.restart();
        await reachable(c);
        if (!held.signal.aborted) {
          await new Promise((resolve) =>
            held.signal.addEventListener('abort', resolve, { once: true }),
          );
        }
        expect(held.signal.reason).toBeInstanceOf(LeaseLostError);
        expect((held.signal.reason as Error).message).toMatch(/no longer holds/);
        await expect(held.ack()).rejects.toBeInstanceOf(LeaseLostError);
        await expect(other.nack()).rejects.toBeInstanceOf(LeaseLostError);
      });
    });
  }
});
