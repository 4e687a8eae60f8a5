// A Redis 7 ACL user with every key and command but no pub/sub channel (`~* +@all`, the
// usual service user: Redis 7's `acl-pubsub-default` is `resetchannels`). Wake-ups are
// best effort: scripts publish with `redis.pcall`, a refused SUBSCRIBE makes waits poll.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RedisQueue, RedisSemaphore } from '../src/index.ts';
import { CLIENT_KINDS, connect, type TestClient, uniqueKey } from './clients.ts';
import { startRedis } from './redis-server.ts';

const redis = await startRedis();
// The test changes the server's users: only on a server it owns.
const owned = redis?.owned === true;

describe.skipIf(!owned)('an ACL user without pub/sub channel rights', () => {
  let admin: TestClient;
  let url: string;
  beforeAll(async () => {
    admin = await connect('ioredis', redis!.url);
    await admin.command(['ACL', 'SETUSER', 'svc', 'on', '>pw', 'resetchannels', '~*', '+@all']);
    url = `redis://svc:pw@127.0.0.1:${redis!.port}`;
  });
  afterAll(async () => {
    await admin.close();
    await redis?.stop();
  });

  for (const kind of CLIENT_KINDS) {
    describe(kind, () => {
      let c: TestClient;
      beforeAll(async () => {
        c = await connect(kind, url);
        // The precondition: this user really cannot publish.
        await expect(c.command(['PUBLISH', 'x', '1'])).rejects.toThrow(/NOPERM|publish/i);
      });
      afterAll(async () => {
        await c.close();
      });

      test('ack, nack and dead-lettering succeed (the PUBLISH after the writes is best effort)', async () => {
        const key = uniqueKey('acl');
        await using q = new RedisQueue<string>({ client: c.client, key, maxDeliveries: 1 });
        await q.put('a');
        await q.put('b');
        const a = await q.get();
        await a.ack();
        const b = await q.get();
        // maxDeliveries 1: the nack dead-letters it (the PUBLISH path of NACK).
        await b.nack();
        expect(await q.size()).toBe(0);
        expect(Number(await admin.command(['XLEN', q.deadLetterStream]))).toBe(1);
      });

      test('a contended acquire polls instead of failing, and is granted after the release', async () => {
        const key = uniqueKey('acl');
        await using s1 = new RedisSemaphore({ client: c.client, key, permits: 1, lease: 5000 });
        await using s2 = new RedisSemaphore({ client: c.client, key, permits: 1, lease: 5000 });
        const held = await s1.acquire();
        const waiting = s2.acquire({ signal: AbortSignal.timeout(4000) });
        // Let the waiter be refused and (try to) subscribe before the release.
        await new Promise((r) => setTimeout(r, 100));
        await held.release();
        const permit = await waiting;
        expect(permit.token).toBeGreaterThan(held.token);
        await permit.release();
      });

      test('a put on a full queue polls instead of failing, and goes in after an ack', async () => {
        const key = uniqueKey('acl');
        await using q = new RedisQueue<string>({ client: c.client, key, capacity: 1 });
        await q.put('first');
        const second = q.put('second', { signal: AbortSignal.timeout(4000) });
        await new Promise((r) => setTimeout(r, 100));
        const msg = await q.get();
        await msg.ack();
        await second;
        const next = await q.get();
        expect(next.value).toBe('second');
        await next.ack();
      });
    });
  }
});
