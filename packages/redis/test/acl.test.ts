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
afterAll(async () => {
  await redis?.stop();
});

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

// The user the README's "Redis permissions (ACL)" section describes, command by command.
const README_USER = [
  'on',
  '>pw',
  'resetchannels',
  '~*',
  '+evalsha',
  '+eval',
  '+@sortedset',
  '+@list',
  '+@hash',
  '+@string',
  '+@stream',
  '+exists',
  '+pexpire',
  '+time',
  '+zrem',
  '+publish',
  '+xlen',
  '+xreadgroup',
  '+client|id',
  '+client|unblock',
  '+subscribe',
  '+xinfo',
  '+xgroup',
];

describe.skipIf(!owned)('an ACL user made exactly from the README list', () => {
  let admin: TestClient;
  let c: TestClient;
  let all: TestClient;
  beforeAll(async () => {
    admin = await connect('ioredis', redis!.url);
    await admin.command(['ACL', 'SETUSER', 'readme', ...README_USER]);
    await admin.command(['ACL', 'SETUSER', 'every', 'on', '>pw', '~*', '+@all']);
    c = await connect('node-redis', `redis://readme:pw@127.0.0.1:${redis!.port}`);
    all = await connect('node-redis', `redis://every:pw@127.0.0.1:${redis!.port}`);
  });
  afterAll(async () => {
    await c.close();
    await all.close();
    await admin.close();
  });

  // The README user (X4: no command outside the list) and a `+@all` one (X1: the cursor).
  test.each(['readme', 'every'])(
    'the reclaim pages past 1000+ held messages to an orphan while a longer-timeout instance takes (X1, X4; user %s)',
    async (user) => {
      const client = user === 'readme' ? c.client : all.client;
      const key = uniqueKey('aclscan');
      await using short = new RedisQueue<string>({ client, key, visibilityTimeout: 200 });
      await using long = new RedisQueue<string>({ client, key, visibilityTimeout: 60_000 });
      // 1100 messages held by a live consumer (deadline far ahead), then an orphan: read by a
      // consumer that died before recording its deadline.
      await admin.command([
        'EVAL',
        `redis.pcall('XGROUP', 'CREATE', KEYS[1], 'weft', '0', 'MKSTREAM')
       for i = 1, 1100 do redis.call('XADD', KEYS[1], '*', 'v', '"held"') end
       local r = redis.call('XREADGROUP', 'GROUP', 'weft', 'holder', 'COUNT', 1100, 'STREAMS', KEYS[1], '>')
       for _, e in ipairs(r[1][2]) do redis.call('ZADD', KEYS[2], ARGV[1], e[1]) end
       redis.call('XADD', KEYS[1], '*', 'v', '"orphan"')
       redis.call('XREADGROUP', 'GROUP', 'weft', 'dead', 'COUNT', 1, 'STREAMS', KEYS[1], '>')
       return 1`,
        '2',
        `{${key}}:q`,
        `{${key}}:q:inflight`,
        String(Date.now() + 600_000),
      ]);
      const got = short.get({ signal: AbortSignal.timeout(5000) });
      let settled = false;
      void got.then(
        () => (settled = true),
        () => (settled = true),
      );
      const errors: string[] = [];
      // The longer-timeout instance keeps taking meanwhile.
      while (!settled) {
        await long.get({ signal: AbortSignal.timeout(30) }).then(
          (m) => errors.push(`got ${m.value}`),
          (err: Error) => {
            if (err.name !== 'TimeoutError') errors.push(`${err.name}: ${err.message}`);
          },
        );
      }
      const msg = await got;
      expect(msg.value).toBe('orphan');
      expect(errors).toEqual([]);
      await msg.ack();
    },
  );
});
