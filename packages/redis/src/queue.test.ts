import { scope } from '@weft/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLIENT_KINDS, connect, type TestClient, uniqueKey } from '../test/clients.ts';
import { startRedis } from '../test/redis-server.ts';
import { countingController } from '../test/signals.ts';
import { ClosedError, LeaseLostError, RedisCommandError } from './errors.ts';
import { type RedisAdapter, toRedisAdapter } from './client.ts';
import { RedisQueue, sweepIdle } from './queue.ts';

const redis = await startRedis();
const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * An adapter over `real` that holds the reply of each command `match` picks until the
 * test calls `release()` (with `fail`, it then throws as a dropped connection would, after
 * the command ran in Redis). `inFlight` resolves once such a command has run; `rearm()`
 * holds the next one again.
 */
function gatedReplies(
  real: RedisAdapter,
  match: (args: readonly string[]) => boolean,
  fail = false,
): { adapter: RedisAdapter; readonly inFlight: Promise<void>; release(): void; rearm(): void } {
  let release!: () => void;
  let gate!: Promise<void>;
  let sent!: () => void;
  let inFlight!: Promise<void>;
  const rearm = (): void => {
    gate = new Promise<void>((r) => {
      release = r;
    });
    inFlight = new Promise<void>((r) => {
      sent = r;
    });
  };
  rearm();
  const adapter: RedisAdapter = {
    send: async (args, key) => {
      const reply = await real.send(args, key);
      if (match(args)) {
        sent();
        await gate;
        if (fail) throw new Error('Socket closed unexpectedly');
      }
      return reply;
    },
    duplicate: (key) => real.duplicate(key),
    subscribe: (ch, fn) => real.subscribe(ch, fn),
    close: () => real.close(),
  };
  return {
    adapter,
    get inFlight() {
      return inFlight;
    },
    release: () => release(),
    rearm,
  };
}

/** Whether `args` runs one of the package's scripts. */
const isScript = (args: readonly string[]): boolean => args[0] === 'EVALSHA' || args[0] === 'EVAL';

describe.skipIf(redis === undefined)('RedisQueue', () => {
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

      const consumerNames = async (stream: string): Promise<string[]> => {
        const list = (await c.command(['XINFO', 'CONSUMERS', stream, 'weft'])) as unknown[];
        return list.map((entry) => {
          if (Array.isArray(entry)) return String(entry[entry.indexOf('name') + 1]);
          return String((entry as { name: unknown }).name);
        });
      };

      test('put then get hands out the value once; ack removes it', async () => {
        await using q = new RedisQueue<{ n: number }>({ client: c.client, key: uniqueKey('q') });
        await q.put({ n: 1 });
        await q.put({ n: 2 });
        const a = await q.get();
        expect(a.value).toEqual({ n: 1 });
        expect(a.deliveryCount).toBe(1);
        await a.ack();
        const b = await q.get();
        expect(b.value).toEqual({ n: 2 });
        await b.ack();
        expect(await q.size()).toBe(0);
        await expect(a.ack()).rejects.toThrow(TypeError);
      });

      test('a get blocks until a put in another instance', async () => {
        const key = uniqueKey('q');
        await using consumer = new RedisQueue<string>({ client: c.client, key });
        await using producer = new RedisQueue<string>({ client: c.client, key });
        const got = consumer.get();
        await tick(30);
        await producer.put('hello');
        const msg = await got;
        expect(msg.value).toBe('hello');
        await msg.ack();
      });

      test('with a visibilityTimeout below 100 ms, a message put during a blocking read is handed out, deliveryCount 1 (X2)', async () => {
        const key = uniqueKey('q');
        const options = { client: c.client, key, visibilityTimeout: 20, maxDeliveries: 1 };
        await using consumer = new RedisQueue<string>(options);
        await using producer = new RedisQueue<string>(options);
        for (let i = 0; i < 3; i++) {
          const got = consumer.get({ signal: AbortSignal.timeout(3000) });
          await tick(30);
          await producer.put(`m${i}`);
          const msg = await got;
          expect([msg.value, msg.deliveryCount]).toEqual([`m${i}`, 1]);
          await msg.ack();
        }
        expect(Number(await c.command(['XLEN', consumer.deadLetterStream]))).toBe(0);
      });

      test('cancelling a blocked get settles within 50 ms, takes nothing and frees its connection', async () => {
        const key = uniqueKey('q');
        await using q = new RedisQueue<string>({
          client: c.client,
          key,
          visibilityTimeout: 10_000,
        });
        const { controller, listeners } = countingController();
        const got = q.get({ signal: controller.signal });
        await tick(50); // the read is blocked on the server now
        expect(listeners()).toBe(1);
        const started = performance.now();
        controller.abort(new Error('enough'));
        await expect(got).rejects.toThrow('enough');
        expect(performance.now() - started).toBeLessThan(50);
        expect(listeners()).toBe(0);
        // The connection is unblocked (not left blocked for 5 s): a put now is read by the next get at once.
        const blocked = async (): Promise<number> =>
          String(await c.command(['CLIENT', 'LIST']))
            .split('\n')
            .filter((l) => / flags=\w*b/.test(l)).length;
        for (let i = 0; i < 20 && (await blocked()) > 0; i++) await tick(5);
        expect(await blocked()).toBe(0);
        await q.put('after');
        const msg = await q.get();
        expect(msg.value).toBe('after');
        expect(msg.deliveryCount).toBe(1);
        await msg.ack();
      });

      test('nack delivers again with a higher deliveryCount; a poison message ends in the dead-letter stream', async () => {
        const key = uniqueKey('q');
        await using q = new RedisQueue<string>({ client: c.client, key, maxDeliveries: 3 });
        await q.put('poison');
        const counts: number[] = [];
        for (let i = 0; i < 3; i++) {
          const msg = await q.get();
          counts.push(msg.deliveryCount);
          await msg.nack();
        }
        expect(counts).toEqual([1, 2, 3]);
        expect(await q.size()).toBe(0);
        const dead = (await c.command(['XRANGE', q.deadLetterStream, '-', '+'])) as unknown[];
        expect(dead).toHaveLength(1);
        expect(JSON.stringify(dead)).toContain('poison');
      });

      test('for await acks when the body completes and nacks when it throws', async () => {
        const key = uniqueKey('q');
        await using q = new RedisQueue<number>({ client: c.client, key });
        for (const n of [1, 2, 3]) await q.put(n);
        const seen: number[] = [];
        await expect(
          (async () => {
            for await (const msg of q) {
              seen.push(msg.value);
              if (msg.value === 2 && msg.deliveryCount === 1) throw new Error('handler failed');
            }
          })(),
        ).rejects.toThrow('handler failed');
        const seen2: [number, number][] = [];
        for await (const msg of q.messages()) {
          seen2.push([msg.value, msg.deliveryCount]);
          if (seen2.length === 2) {
            await msg.ack();
            break;
          }
        }
        expect(seen).toEqual([1, 2]);
        expect(seen2).toEqual([
          [3, 1],
          [2, 2],
        ]);
        expect(await q.size()).toBe(0);
      });

      test('a message held past its visibility by a dead consumer is delivered again with deliveryCount 2', async () => {
        const key = uniqueKey('q');
        await using q = new RedisQueue<string>({ client: c.client, key, visibilityTimeout: 150 });
        await q.put('job');
        expect(await q.size()).toBe(1);
        // A consumer that read the message and died: it never acks nor extends it.
        const read = await c.command([
          'XREADGROUP',
          'GROUP',
          'weft',
          'dead',
          'COUNT',
          '1',
          'STREAMS',
          q.stream,
          '>',
        ]);
        expect(JSON.stringify(read)).toContain('job');
        const again = await q.get();
        expect(again.value).toBe('job');
        expect(again.deliveryCount).toBe(2);
        await again.ack();
        expect(await q.size()).toBe(0);
      });

      test('a held message stays invisible to others while its consumer lives', async () => {
        const key = uniqueKey('q');
        // Held for more than three visibility timeouts; a renewal every 100 ms (generous
        // enough for a loaded machine: the lease is lost only with none confirmed in 300 ms).
        await using a = new RedisQueue<string>({ client: c.client, key, visibilityTimeout: 300 });
        await using b = new RedisQueue<string>({ client: c.client, key, visibilityTimeout: 300 });
        await a.put('slow job');
        const held = await a.get();
        const controller = new AbortController();
        const stolen = b.get({ signal: controller.signal });
        await tick(1000);
        controller.abort(new Error('nothing came'));
        await expect(stolen).rejects.toThrow('nothing came');
        expect(held.signal.aborted).toBe(false);
        await held.ack();
      });

      test('ack after the message was reclaimed elsewhere rejects with LeaseLostError', async () => {
        const key = uniqueKey('q');
        await using q = new RedisQueue<string>({
          client: c.client,
          key,
          visibilityTimeout: 10_000,
        });
        await q.put('job');
        const msg = await q.get();
        await c.command(['XCLAIM', q.stream, 'weft', 'someone-else', '0', msg.id, 'JUSTID']);
        await expect(msg.ack()).rejects.toBeInstanceOf(LeaseLostError);
      });

      test('put waits for room when the queue is at capacity', async () => {
        const key = uniqueKey('q');
        await using q = new RedisQueue<number>({ client: c.client, key, capacity: 2 });
        await q.put(1);
        await q.put(2);
        let third = false;
        const put3 = q.put(3).then(() => {
          third = true;
        });
        await tick(50);
        expect(third).toBe(false);
        const msg = await q.get();
        await msg.ack();
        await put3;
        expect(await q.size()).toBe(2);
      });

      test('a cancelled put adds nothing', async () => {
        const key = uniqueKey('q');
        await using q = new RedisQueue<number>({ client: c.client, key, capacity: 1 });
        await q.put(1);
        const controller = new AbortController();
        const p = q.put(2, { signal: controller.signal });
        await tick(20);
        controller.abort(new Error('no room'));
        await expect(p).rejects.toThrow('no room');
        expect(await q.size()).toBe(1);
      });

      test('a put cancelled while its script is in flight is taken back', async () => {
        const key = uniqueKey('q');
        // Holds every script reply until the test lets it through.
        const slow = gatedReplies(toRedisAdapter(c.client), isScript);
        const q = new RedisQueue<string>({ client: slow.adapter, key });
        const controller = new AbortController();
        const p = q.put('cancelled', { signal: controller.signal });
        await slow.inFlight;
        controller.abort(new Error('stop'));
        // It settles once the script's reply says what happened (X5).
        slow.release();
        await expect(p).rejects.toThrow('stop');
        expect(await c.command(['XLEN', `{${key}}:q`])).toBe(0);
        await q.close();
      });

      for (const how of ['signal', 'close'] as const) {
        test(`a put cancelled (${how}) in flight whose command then fails rejects with the command's error, not the cancellation (X3)`, async () => {
          const key = uniqueKey('q');
          // The put's script runs in Redis, then its reply is lost (the connection drops).
          const lossy = gatedReplies(
            toRedisAdapter(c.client),
            (args) => args.includes(JSON.stringify('lost')),
            true,
          );
          const q = new RedisQueue<string>({ client: lossy.adapter, key });
          const controller = new AbortController();
          const p = q.put('lost', { signal: controller.signal });
          p.catch(() => {});
          await lossy.inFlight;
          const closing = how === 'close' ? q.close() : undefined;
          if (how === 'signal') controller.abort(new Error('stop'));
          lossy.release();
          // Redis added it: the put must not claim "added nothing" (ClosedError / the reason).
          await expect(p).rejects.toBeInstanceOf(RedisCommandError);
          expect(await c.command(['XLEN', `{${key}}:q`])).toBe(1);
          await closing;
          await q.close();
        });
      }

      test('a put cancelled in flight that a waiting consumer already read resolves with its id (X5)', async () => {
        const key = uniqueKey('q');
        // The reply to the producer's put script waits until the test lets it through.
        const slow = gatedReplies(
          toRedisAdapter(c.client),
          (args) => isScript(args) && args.includes(JSON.stringify('raced')),
        );
        await using consumer = new RedisQueue<string>({ client: c.client, key });
        await using warm = new RedisQueue<string>({ client: c.client, key });
        await warm.put('warm-up'); // the group exists
        await (await consumer.get()).ack();
        const got = consumer.get();
        await tick(50); // blocked in its read: served by the XADD itself
        await using producer = new RedisQueue<string>({ client: slow.adapter, key });
        const controller = new AbortController();
        const p = producer.put('raced', { signal: controller.signal });
        await slow.inFlight;
        controller.abort(new Error('stop'));
        const msg = await got;
        expect(msg.value).toBe('raced');
        slow.release();
        await expect(p).resolves.toBe(msg.id);
        await msg.ack();
      });

      test("close() while a put's script is in flight: the put resolves when a consumer read its message, rejects ClosedError when it was taken back (X5)", async () => {
        const key = uniqueKey('q');
        // The reply to the producer's put script waits until the test lets it through.
        const slow = gatedReplies(
          toRedisAdapter(c.client),
          (args) => isScript(args) && args.some((a) => /"job/.test(a)),
        );
        await using consumer = new RedisQueue<string>({ client: c.client, key });
        await consumer.put('warm-up'); // the group exists
        await (await consumer.get()).ack();
        // A consumer waits: the message is read by the XADD itself.
        const got = consumer.get();
        await tick(50);
        const producer = new RedisQueue<string>({ client: slow.adapter, key });
        const delivered = producer.put('job-1');
        await slow.inFlight;
        const closing = producer.close();
        const msg = await got;
        expect(msg.value).toBe('job-1');
        slow.release();
        await expect(delivered).resolves.toBe(msg.id);
        await closing;
        await msg.ack();
        // Nobody waits: the take-back removes it, and the put rejects.
        slow.rearm();
        const other = new RedisQueue<string>({ client: slow.adapter, key });
        const taken = other.put('job-2');
        await slow.inFlight;
        const closing2 = other.close();
        slow.release();
        await expect(taken).rejects.toThrow(ClosedError);
        await closing2;
        expect(await c.command(['XLEN', `{${key}}:q`])).toBe(0);
      });

      test('a second consumer group on the same key is refused, so no group loses messages', async () => {
        const key = uniqueKey('q');
        await using a = new RedisQueue<number>({ client: c.client, key, group: 'a' });
        await using b = new RedisQueue<number>({ client: c.client, key, group: 'b' });
        await a.put(1);
        await expect(b.get()).rejects.toThrow(TypeError);
        await expect(b.get()).rejects.toThrow('the group `a`');
        await expect(b.put(2)).rejects.toThrow(TypeError);
        const msg = await a.get();
        expect(msg.value).toBe(1);
        await msg.ack();
        expect(await c.command(['XINFO', 'GROUPS', `{${key}}:q`])).toHaveLength(1);
      });

      test('an abandoned message is reclaimed by the first take however many messages live consumers hold (X6)', async () => {
        const key = uniqueKey('q');
        const stream = `{${key}}:q`;
        await using producer = new RedisQueue<number>({
          client: c.client,
          key,
          visibilityTimeout: 200,
        });
        for (let i = 0; i < 300; i++) await producer.put(i);
        await producer.put(-1);
        // 300 messages held by a live consumer, then one read by a consumer that dies.
        await c.command([
          'XREADGROUP',
          'GROUP',
          'weft',
          'live',
          'COUNT',
          '300',
          'STREAMS',
          stream,
          '>',
        ]);
        await c.command([
          'XREADGROUP',
          'GROUP',
          'weft',
          'dead',
          'COUNT',
          '1',
          'STREAMS',
          stream,
          '>',
        ]);
        const range = (await c.command(['XRANGE', stream, '-', '+', 'COUNT', '300'])) as [
          string,
          unknown,
        ][];
        const ids = range.map(([id]) => String(id));
        expect(ids).toHaveLength(300);
        await tick(250);
        // The live consumer renews its messages (their idle time starts again).
        await c.command(['XCLAIM', stream, 'weft', 'live', '0', ...ids, 'JUSTID']);
        // A take that does not find it would go on to a blocking read (a connection).
        const real = toRedisAdapter(c.client);
        let duplicates = 0;
        const counting: RedisAdapter = {
          send: (args, k) => real.send(args, k),
          duplicate: (k, signal) => {
            duplicates += 1;
            return real.duplicate(k, signal);
          },
          subscribe: (ch, fn) => real.subscribe(ch, fn),
          close: () => real.close(),
        };
        await using consumer = new RedisQueue<number>({
          client: counting,
          key,
          visibilityTimeout: 200,
        });
        const msg = await consumer.get({ signal: AbortSignal.timeout(5000) });
        expect([msg.value, msg.deliveryCount, duplicates]).toEqual([-1, 2, 0]);
        await msg.ack();
        await c.command(['DEL', stream]);
      });

      test("an orphan without a deadline is reclaimed although more than 1000 older messages of a longer-timeout holder are idle past the claimer's timeout (X6)", async () => {
        const key = uniqueKey('q');
        const stream = `{${key}}:q`;
        await c.command(['XGROUP', 'CREATE', stream, 'weft', '0', 'MKSTREAM']);
        // 1200 messages held by a live consumer with a long timeout (deadlines far ahead),
        // then one read by a blocking read whose consumer died before recording a deadline.
        await c.command([
          'EVAL',
          `for i = 1, 1200 do redis.call('XADD', KEYS[1], '*', 'v', tostring(i)) end
local r = redis.call('XREADGROUP', 'GROUP', 'weft', 'live', 'COUNT', 1200, 'STREAMS', KEYS[1], '>')
for _, e in ipairs(r[1][2]) do redis.call('ZADD', KEYS[2], 9e15, e[1]) end
redis.call('XADD', KEYS[1], '*', 'v', '-1')
redis.call('XREADGROUP', 'GROUP', 'weft', 'dead', 'COUNT', 1, 'STREAMS', KEYS[1], '>')
return 1`,
          '2',
          stream,
          `{${key}}:q:inflight`,
        ]);
        await tick(250);
        await using consumer = new RedisQueue<number>({
          client: c.client,
          key,
          visibilityTimeout: 200,
        });
        const msg = await consumer.get({ signal: AbortSignal.timeout(3000) });
        expect([msg.value, msg.deliveryCount]).toEqual([-1, 2]);
        await msg.ack();
        await c.command(['DEL', stream, `{${key}}:q:inflight`, `{${key}}:q:scan`]);
      });

      test('an instance with a shorter visibilityTimeout does not take a message a live holder with a longer one renews (X1)', async () => {
        const key = uniqueKey('q');
        await using slow = new RedisQueue<string>({
          client: c.client,
          key,
          visibilityTimeout: 3000,
        });
        await using fast = new RedisQueue<string>({
          client: c.client,
          key,
          visibilityTimeout: 150,
        });
        await slow.put('job');
        const held = await slow.get();
        // Many times fast's timeout: it would have reclaimed the message by its own.
        await expect(fast.get({ signal: AbortSignal.timeout(1200) })).rejects.toThrow();
        expect(held.signal.aborted).toBe(false);
        await held.ack();
        // An abandoned message is still reclaimed, after its holder's own deadline: a
        // fast instance whose Redis stops answering (its renewals fail).
        const real = toRedisAdapter(c.client);
        let dead = false;
        const dying: RedisAdapter = {
          send: (args, k) =>
            dead ? Promise.reject(new Error('connection lost')) : real.send(args, k),
          duplicate: (k, signal) => real.duplicate(k, signal),
          subscribe: (ch, fn) => real.subscribe(ch, fn),
          close: () => real.close(),
        };
        const doomed = new RedisQueue<string>({ client: dying, key, visibilityTimeout: 150 });
        await doomed.put('abandoned');
        const lost = await doomed.get();
        dead = true;
        const again = await slow.get({ signal: AbortSignal.timeout(5000) });
        expect([again.value, again.deliveryCount]).toEqual(['abandoned', 2]);
        await again.ack();
        dead = false;
        await expect(lost.ack()).rejects.toBeInstanceOf(LeaseLostError);
        await doomed.close();
      });

      test('consumers that hold nothing and stayed idle past the sweep threshold leave the group, each instance sweeping at its own period (X3, X4)', async () => {
        const key = uniqueKey('q');
        const stream = `{${key}}:q`;
        const saved = sweepIdle.ms;
        sweepIdle.ms = 1000; // instead of 60 s
        try {
          // An instance with a long visibilityTimeout sweeps first (its period: 201 s).
          await using slow = new RedisQueue<string>({
            client: c.client,
            key,
            visibilityTimeout: 20_000,
          });
          await slow.put('first'); // the group exists
          await (await slow.get()).ack();
          // Sweeps every 10 x 20 + 1000 ms.
          await using q = new RedisQueue<string>({ client: c.client, key, visibilityTimeout: 20 });
          // A consumer that died holding nothing: it never closed.
          await c.command(['XGROUP', 'CREATECONSUMER', stream, 'weft', 'ghost']);
          expect(await consumerNames(stream)).toContain('ghost');
          await tick(1300);
          await q.put('second');
          await (await q.get()).ack();
          expect(await consumerNames(stream)).not.toContain('ghost');
          expect(await consumerNames(stream)).toContain(q.consumer);
        } finally {
          sweepIdle.ms = saved;
        }
      });

      test("the sweep does not remove a live consumer blocked in a read, whatever the sweeper's visibilityTimeout (X4)", async () => {
        const key = uniqueKey('q');
        const stream = `{${key}}:q`;
        // Blocks 5000 ms per read.
        await using long = new RedisQueue<string>({
          client: c.client,
          key,
          visibilityTimeout: 20_000,
        });
        await long.put('first'); // the group exists
        await (await long.get()).ack();
        const controller = new AbortController();
        const waiting = long.get({ signal: controller.signal }).catch(() => undefined);
        await tick(1300);
        // Sweeps every 10 x 20 + 1000 ms: its first take sweeps (whenever the last was).
        await c.command(['DEL', `{${key}}:q:sweep`]);
        await using short = new RedisQueue<string>({
          client: c.client,
          key,
          visibilityTimeout: 20,
        });
        // Its take sweeps (the queue is empty: it then waits, until the timeout).
        await short.get({ signal: AbortSignal.timeout(100) }).catch(() => undefined);
        expect(await consumerNames(stream)).toContain(long.consumer);
        controller.abort();
        await waiting;
      });

      test('a stream entry without a value field is dead-lettered and the queue keeps working', async () => {
        const key = uniqueKey('q');
        const stream = `{${key}}:q`;
        await using q = new RedisQueue<string>({ client: c.client, key, visibilityTimeout: 200 });
        await q.put('first');
        await (await q.get()).ack();
        // Written by another tool, read by the non-blocking script.
        await c.command(['XADD', stream, '*', 'other', 'field']);
        await q.put('normal');
        const a = await q.get();
        expect(a.value).toBe('normal');
        await a.ack();
        // Read by the blocking read.
        const waiting = q.get();
        await tick(30);
        await c.command(['XADD', stream, '*', 'other', 'field']);
        await q.put('later');
        const b = await waiting;
        expect(b.value).toBe('later');
        await b.ack();
        expect(await c.command(['XLEN', `{${key}}:q:dead`])).toBe(2);
        expect(await q.size()).toBe(0);
      });

      test('a visibilityTimeout longer than the longest timer is refused, not lost after 1 ms', () => {
        expect(
          () => new RedisQueue({ client: c.client, key: 'k', visibilityTimeout: 2 ** 31 }),
        ).toThrow(
          'Expected `visibilityTimeout` to be a whole number of milliseconds from 3 to 2147483647, got `2147483648` (number)',
        );
      });

      test('close() removes its consumer from the group unless it still holds a message', async () => {
        const key = uniqueKey('q');
        for (let i = 0; i < 3; i++) {
          const q = new RedisQueue<string>({ client: c.client, key });
          await q.put('x');
          await (await q.get()).ack();
          await q.close();
        }
        const consumers = (): Promise<unknown[]> =>
          c.command(['XINFO', 'CONSUMERS', `{${key}}:q`, 'weft']) as Promise<unknown[]>;
        expect(await consumers()).toHaveLength(0);
        const holder = new RedisQueue<string>({ client: c.client, key });
        await holder.put('held');
        const msg = await holder.get();
        await holder.close();
        expect(await consumers()).toHaveLength(1);
        await msg.ack();
      });

      test('a message whose read reply came back after its visibility ran out is not handed out with a live signal', async () => {
        const key = uniqueKey('q');
        const real = toRedisAdapter(c.client);
        // Once `late` is set, every script reply arrives 450 ms late (a slow network, a
        // busy event loop).
        let late = false;
        const slow: RedisAdapter = {
          send: async (args, key) => {
            const reply = await real.send(args, key);
            if (late && (args[0] === 'EVALSHA' || args[0] === 'EVAL' || args[0] === 'XREADGROUP'))
              await tick(450);
            return reply;
          },
          duplicate: (key) => real.duplicate(key),
          subscribe: (ch, fn) => real.subscribe(ch, fn),
          close: () => real.close(),
        };
        const a = new RedisQueue<string>({ client: slow, key, visibilityTimeout: 300 });
        await using b = new RedisQueue<string>({ client: c.client, key, visibilityTimeout: 300 });
        await a.put('warm-up'); // the group exists and the scripts are loaded
        await (await a.get()).ack();
        await b.put('job');
        late = true;
        const controller = new AbortController();
        const got = a.get({ signal: controller.signal });
        await tick(320);
        const reclaimed = await b.get();
        expect([reclaimed.value, reclaimed.deliveryCount]).toEqual(['job', 2]);
        await tick(250); // a's late reply has arrived
        controller.abort(new Error('stop'));
        const outcome = await got.then(
          (m) => (m.signal.aborted ? 'handed out, lease lost' : 'handed out with a live signal'),
          () => 'not handed out',
        );
        expect(outcome).not.toBe('handed out with a live signal');
        await reclaimed.ack();
        await a.close();
      });

      test('inside a task, a blocked get is cancelled with the task', async () => {
        const key = uniqueKey('q');
        await using q = new RedisQueue<number>({ client: c.client, key });
        await expect(
          scope(async (s) => {
            s.spawn(() => q.get());
            await tick(20);
            throw new Error('boom');
          }),
        ).rejects.toThrow();
        await q.put(7);
        const msg = await q.get();
        expect(msg.deliveryCount).toBe(1);
        await msg.ack();
      });

      test('close() rejects waiting gets with ClosedError, ends iteration and closes its connections', async () => {
        const key = uniqueKey('q');
        const before = await c.connections();
        const q = new RedisQueue<number>({ client: c.client, key });
        const got = q.get().then(
          () => 'got one',
          (err: unknown) => err,
        );
        await tick(30);
        await q.close();
        expect(await got).toBeInstanceOf(ClosedError);
        const loop = (async () => {
          for await (const _ of q) throw new Error('no message expected');
        })();
        await loop;
        for (let i = 0; i < 50 && (await c.connections()) > before; i++) await tick(10);
        expect(await c.connections()).toBe(before);
      });

      test('close() returns within visibilityTimeout when Redis stops answering (an outage)', async () => {
        const base = toRedisAdapter(c.client);
        let outage = false;
        const adapter: RedisAdapter = {
          send: (args, key) => (outage ? new Promise(() => {}) : base.send(args, key)),
          duplicate: (key) => base.duplicate(key),
          subscribe: (channel, onMessage) => base.subscribe(channel, onMessage),
          close: () => base.close(),
        };
        const q = new RedisQueue<number>({
          client: adapter,
          key: uniqueKey('q'),
          visibilityTimeout: 200,
        });
        await q.put(1);
        const msg = await q.get();
        await msg.ack();
        outage = true;
        // Leaving the group is never answered: without the bound, close() would wait forever.
        await q.close();
        await expect(q.get()).rejects.toThrow(ClosedError);
      });

      test('rejects bad options and values with a clear message', async () => {
        expect(() => new RedisQueue({ client: c.client, key: 'k', capacity: 0 })).toThrow(
          'Expected `capacity` to be an integer from 1 and up, got `0` (number)',
        );
        expect(
          () => new RedisQueue({ client: c.client, key: 'k', visiblityTimeout: 5 } as never),
        ).toThrow('Did you mean `visibilityTimeout`?');
        const q = new RedisQueue<unknown>({ client: c.client, key: 'k' });
        await expect(q.put(undefined)).rejects.toThrow(
          'Expected `value` to be representable as JSON',
        );
      });

      test('a codec that is not an object, or whose encode returns no string, is refused naming it; nothing is stored (review D3)', async () => {
        expect(() => new RedisQueue({ client: c.client, key: 'k', codec: 1 as never })).toThrow(
          'Expected `codec` to be an object with `encode` and `decode` functions, got `1` (number)',
        );
        expect(() => new RedisQueue({ client: c.client, key: 'k', codec: null as never })).toThrow(
          TypeError,
        );
        const key = uniqueKey('q');
        const encoded: unknown[] = [undefined, 42];
        const q = new RedisQueue<string>({
          client: c.client,
          key,
          codec: { encode: () => encoded.shift() as string, decode: (s) => s },
        });
        const put = q.put('v');
        expect(put).toBeInstanceOf(Promise);
        await expect(put).rejects.toThrow(TypeError);
        await expect(put).rejects.toThrow(
          'Expected `codec.encode` to return a string, got `undefined` (undefined)',
        );
        await expect(q.put('v')).rejects.toThrow(
          'Expected `codec.encode` to return a string, got `42` (number)',
        );
        expect(await q.size()).toBe(0);
        await q.close();
      });

      test('bad input to put and get rejects (never throws synchronously), naming the argument', async () => {
        const q = new RedisQueue<unknown>({ client: c.client, key: uniqueKey('q') });
        const put = q.put(1n);
        expect(put).toBeInstanceOf(Promise);
        await expect(put).rejects.toThrow(
          'Expected `value` to be representable as JSON, got `1` (bigint)',
        );
        const get = q.get('x' as never);
        expect(get).toBeInstanceOf(Promise);
        await expect(get).rejects.toThrow(TypeError);
        await q.close();
      });
    });
  }
});
