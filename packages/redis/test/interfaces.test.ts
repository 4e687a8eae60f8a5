// The Redis primitives plug in wherever @weft/core's shared interfaces are expected.
import {
  type QueueLike,
  Queue,
  RateLimiter,
  type RateLimiterLike,
  Semaphore,
  type SemaphoreLike,
  suppressedErrors,
} from '@weft/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LeaseLostError, RedisQueue, RedisRateLimiter, RedisSemaphore } from '../src/index.ts';
import { connect, type TestClient, uniqueKey } from './clients.ts';
import { startRedis } from './redis-server.ts';

const redis = await startRedis();

// Written against the interfaces only, as @weft/http or user code would be.
async function limited(limiter: RateLimiterLike, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++)
    out.push(await limiter.run(({ signal }) => (signal.aborted ? -1 : i)));
  return out;
}

async function guarded(sem: SemaphoreLike): Promise<boolean> {
  await using permit = await sem.acquire();
  // `return await`: the permit must stay held until run() has finished.
  return await sem.run(async ({ signal }) => !signal.aborted && !permit.released);
}

async function roundTrip(queue: QueueLike<string>): Promise<string[]> {
  await queue.put('a');
  await queue.put('b');
  await queue.put('c');
  const first = await queue.get();
  const rest: string[] = [];
  for await (const item of queue) {
    rest.push(item);
    if (item === 'c') break;
  }
  return [first, ...rest];
}

// A producer that closes when done and a consumer that iterates until the end (X4).
async function pipeline(queue: QueueLike<number>): Promise<number[]> {
  const seen: number[] = [];
  const consumer = (async () => {
    for await (const item of queue) seen.push(item);
  })();
  for (let i = 0; i < 5; i++) await queue.put(i);
  await queue.close();
  await consumer;
  return seen;
}

// What close() does to later calls (X4): puts reject, gets drain, then end.
async function afterClose(queue: QueueLike<string>): Promise<string[]> {
  const out: string[] = [];
  await queue.put('x');
  await queue.put('y');
  await queue.close();
  out.push(
    await queue.put('z').then(
      () => 'put ok',
      (e: Error) => `put ${e.constructor.name}`,
    ),
  );
  out.push(await queue.get());
  for await (const item of queue) out.push(item);
  out.push(
    await queue.get().then(
      (v) => `get ${v}`,
      () => 'get rejects',
    ),
  );
  return out;
}

describe.skipIf(redis === undefined)("@weft/core's shared interfaces", () => {
  let c: TestClient;
  beforeAll(async () => {
    c = await connect('ioredis', redis!.url);
  });
  afterAll(async () => {
    await c.close();
    await redis?.stop();
  });

  test('RedisRateLimiter and RateLimiter are both a RateLimiterLike', async () => {
    const shared = new RedisRateLimiter({
      client: c.client,
      key: uniqueKey('if'),
      limit: 10,
      interval: 1000,
    });
    const local = new RateLimiter({ limit: 10, interval: 1000 });
    expect(await limited(shared, 3)).toEqual([0, 1, 2]);
    expect(await limited(local, 3)).toEqual([0, 1, 2]);
    const pass = await shared.acquire();
    pass.release();
    expect(pass.released).toBe(true);
    expect(() => pass.release()).toThrow(TypeError);
  });

  test('RedisSemaphore and Semaphore are both a SemaphoreLike', async () => {
    await using shared = new RedisSemaphore({ client: c.client, key: uniqueKey('if'), permits: 2 });
    expect(await guarded(shared)).toBe(true);
    expect(await guarded(new Semaphore(2))).toBe(true);
  });

  test("RedisSemaphore.run's signal aborts when the lease is lost, and the permit is released after a failure", async () => {
    const key = uniqueKey('if');
    await using sem = new RedisSemaphore({ client: c.client, key, permits: 1, lease: 300 });
    const reason = await sem.run(async ({ signal }) => {
      await c.command(['DEL', `{${key}}:sem`]);
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return signal.reason as unknown;
    });
    expect(reason).toBeInstanceOf(LeaseLostError);
    const failure = new Error('work failed');
    await expect(
      sem.run(() => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(suppressedErrors(failure)).toEqual([]);
    expect(Number(await c.command(['ZCOUNT', `{${key}}:sem`, '(0', '+inf']))).toBe(0);
  });

  test("RedisSemaphore.run's signal aborts with the caller's signal", async () => {
    await using sem = new RedisSemaphore({ client: c.client, key: uniqueKey('if'), permits: 1 });
    const controller = new AbortController();
    const seen = await sem.run(
      async ({ signal }) => {
        controller.abort(new Error('caller gave up'));
        return (signal.reason as Error).message;
      },
      { signal: controller.signal },
    );
    expect(seen).toBe('caller gave up');
  });

  test('RedisQueue.asQueueLike() and Queue are both a QueueLike', async () => {
    await using shared = new RedisQueue<string>({ client: c.client, key: uniqueKey('if') });
    expect(await roundTrip(shared.asQueueLike())).toEqual(['a', 'b', 'c']);
    // 'b' was acked when its loop body completed; 'c', left by `break`, was given back.
    expect(await shared.size()).toBe(1);
    const again = await shared.get();
    expect([again.value, again.deliveryCount]).toEqual(['c', 2]);
    await again.ack();
    expect(await roundTrip(new Queue<string>())).toEqual(['a', 'b', 'c']);
  });

  test('asQueueLike().close() drains what is left, then ends, as Queue.close() does (X4)', async () => {
    const core = await pipeline(new Queue<number>());
    expect(core).toEqual([0, 1, 2, 3, 4]);
    const shared = new RedisQueue<number>({ client: c.client, key: uniqueKey('if') });
    expect(await pipeline(shared.asQueueLike())).toEqual(core);
    expect(await shared.size()).toBe(0);
    // The drain ended the view only (X3): the instance goes on until its own close().
    await shared.put(9);
    const nine = await shared.get();
    expect(nine.value).toBe(9);
    await nine.ack();
    await shared.close();

    const coreAfter = await afterClose(new Queue<string>());
    expect(coreAfter).toEqual(['put QueueShutDownError', 'x', 'y', 'get rejects']);
    const other = new RedisQueue<string>({ client: c.client, key: uniqueKey('if') });
    expect(await afterClose(other.asQueueLike())).toEqual([
      'put ClosedError',
      'x',
      'y',
      'get rejects',
    ]);
    await other.close();
  });

  test("a closed view's get ends at once although other getters of the instance wait ahead of it on an empty queue (X2)", async () => {
    await using q = new RedisQueue<string>({ client: c.client, key: uniqueKey('if') });
    const a = q.asQueueLike();
    const b = q.asQueueLike();
    const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    const bGet = b.get(); // waits ahead, on an empty queue
    const plain = q.get(); // so does a plain get
    await tick(50);
    const aGet = a.get().then(
      (v) => `get ${v}`,
      (e: Error) => e.constructor.name,
    );
    await tick(50);
    await a.close();
    expect(await aGet).toBe('ClosedError');
    // The others still wait, in their order.
    await q.put('first');
    await q.put('second');
    expect(await bGet).toBe('first');
    const msg = await plain;
    expect(msg.value).toBe('second');
    await msg.ack();
  });

  test("a get on a view closed earlier does not wait out another getter's blocking read (review redis12 X2)", async () => {
    await using q = new RedisQueue<string>({ client: c.client, key: uniqueKey('if') });
    const a = q.asQueueLike();
    const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    const plain = q.get(); // a blocking read (5 s) on an empty queue
    await tick(100);
    await a.close(); // no get of `a` pending
    await tick(100); // the plain getter's read is blocked again
    const aGet = a.get().then(
      (v) => `get ${v}`,
      (e: Error) => e.constructor.name,
    );
    // Well before the 5 s blocking read ends (it answered only then without the fix).
    expect(await Promise.race([aGet, tick(2500).then(() => 'still waiting')])).toBe('ClosedError');
    await q.put('first');
    const msg = await plain;
    expect(msg.value).toBe('first');
    await msg.ack();
  });

  test("draining a closed view ends that view only: the instance's other views go on (X3)", async () => {
    await using q = new RedisQueue<number>({ client: c.client, key: uniqueKey('if') });
    const a = q.asQueueLike();
    const b = q.asQueueLike();
    await a.put(1);
    await a.close();
    const drained: number[] = [];
    for await (const v of a) drained.push(v);
    expect(drained).toEqual([1]);
    await expect(a.get()).rejects.toThrow(/view is closed/);
    await b.put(2);
    expect(await b.get()).toBe(2);
  });

  test('asQueueLike().close() rejects a pending put and ends a get waiting on an empty queue, as Queue.close() does (X4)', async () => {
    const full = async (queue: QueueLike<string>): Promise<string[]> => {
      await queue.put('fill');
      const pending = queue.put('no room').then(
        () => 'put ok',
        () => 'put rejects',
      );
      await new Promise((r) => setTimeout(r, 50));
      await queue.close();
      const out = [await pending];
      out.push(await queue.get());
      out.push(
        await queue.get().then(
          (v) => `get ${v}`,
          () => 'get rejects',
        ),
      );
      return out;
    };
    const empty = async (queue: QueueLike<string>): Promise<string> => {
      const waiting = queue.get().then(
        (v) => `get ${v}`,
        () => 'get rejects',
      );
      await new Promise((r) => setTimeout(r, 50));
      await queue.close();
      return await waiting;
    };
    const core = [await full(new Queue<string>({ capacity: 1 })), await empty(new Queue<string>())];
    expect(core).toEqual([['put rejects', 'fill', 'get rejects'], 'get rejects']);
    const a = new RedisQueue<string>({ client: c.client, key: uniqueKey('if'), capacity: 1 });
    const b = new RedisQueue<string>({ client: c.client, key: uniqueKey('if') });
    expect([await full(a.asQueueLike()), await empty(b.asQueueLike())]).toEqual(core);
    expect(await a.size()).toBe(0);
    await a.close();
    await b.close();
  });
});
