import type { QueueLike } from '@weft/core';
import { type RedisAdapter, toRedisAdapter } from './client.ts';
import { ClosedError, LeaseLostError, RedisCommandError } from './errors.ts';
import { Lease, stopLease } from './internal/lease.ts';
import { command, int, isNoPermission, POLL_MS, Script, tag } from './internal/script.ts';
import { joinSignals } from './internal/signals.ts';
import { readReply, type StreamEntry } from './internal/streams.ts';
import {
  assertFunction,
  assertInteger,
  assertKey,
  assertPrimitiveKey,
  assertMs,
  MAX_TIMER_MS,
  assertOptions,
  describe,
} from './internal/validate.ts';
import { jitter, timer, type Waiter, WaitList } from './internal/waiters.ts';

/**
 * How values become stream fields and back (default: JSON).
 *
 * @example
 * ```ts
 * const dates: QueueCodec<Date> = { encode: (d) => d.toISOString(), decode: (s) => new Date(s) };
 * const q = new RedisQueue<Date>({ client, key: 'dates', codec: dates });
 * ```
 */
export interface QueueCodec<T> {
  encode(value: T): string;
  decode(text: string): T;
}

/** Options of {@link RedisQueue}. */
export interface RedisQueueOptions<T> {
  /** A node-redis client, an ioredis client or a {@link RedisAdapter}. Used as it is. */
  client: unknown;
  /**
   * The queue's name: every process using the same key shares the queue.
   * Non-empty, and not starting with `}` (a `RangeError`): its keys are `{key}:…`, and
   * the hash tag must not be empty for Redis Cluster to keep them in one slot.
   */
  key: string;
  /**
   * At most this many messages in the queue (waiting or being handled); `put` waits for
   * room beyond it. Default: no limit.
   * @default Infinity
   */
  capacity?: number | undefined;
  /**
   * How long a message handed to a consumer stays invisible to others without a sign of
   * life, in ms. Live consumers extend it in the background while they hold a message; the
   * messages of a consumer that died are handed out again after it. From 3 to 2^31 - 1
   * (about 24.8 days, the longest timer); outside that, a `RangeError`. Instances of one
   * key may use different values: each message's deadline is its holder's own.
   * @default 30000
   */
  visibilityTimeout?: number | undefined;
  /**
   * After this many deliveries without an ack, a message goes to the dead-letter stream
   * (`{key}:q:dead`) instead of being delivered again.
   * @default 5
   */
  maxDeliveries?: number | undefined;
  /**
   * The consumer group's name. One group per key: an ack deletes the message from the
   * stream, so two groups cannot each receive every message. When the key's stream already
   * has another group, every `put`/`get` rejects with a `TypeError` naming it.
   * @default 'weft'
   */
  group?: string | undefined;
  /**
   * How values are stored. Default: JSON (`put` rejects with a `TypeError` for a value JSON
   * cannot represent, such as `undefined`). An object with `encode` and `decode` functions
   * (else the constructor throws a `TypeError`); `put` rejects with a `TypeError` naming
   * `codec.encode` when `encode` returns anything but a string, and stores nothing.
   */
  codec?: QueueCodec<T> | undefined;
}

/** Options of `put`, `get` and iteration. */
export interface RedisQueueWaitOptions {
  /** Stop waiting when it aborts. Inside a weft task it adds to the task's signal. */
  signal?: AbortSignal | undefined;
}

/**
 * A message handed out by {@link RedisQueue.get} or its async iteration. Settle it once:
 * `ack()` when it was handled (it leaves the queue), `nack()` to give it back (it is
 * delivered again, at the tail, or dead-lettered after `maxDeliveries`).
 *
 * @example
 * ```ts
 * const msg = await queue.get();
 * if (msg.deliveryCount > 1) console.warn(`retry ${msg.deliveryCount} of ${msg.id}`);
 * await handle(msg.value, { signal: msg.signal });
 * await msg.ack();
 * ```
 */
export interface RedisMessage<T> {
  /** The stream entry id. A message given back by `nack()` gets a new id. */
  readonly id: string;
  readonly value: T;
  /** How many times this message was delivered, this time included (1 the first time). */
  readonly deliveryCount: number;
  /**
   * Aborts with {@link LeaseLostError} when this consumer can no longer confirm that it
   * holds the message (another consumer may be handling it): stop the work.
   */
  readonly signal: AbortSignal;
  /** Whether `ack()` or `nack()` was called. */
  readonly settled: boolean;
  /**
   * Removes the message from the queue. Rejects with `LeaseLostError` if it was meanwhile
   * handed to another consumer (then it will be, or was, handled again) or Redis lost it
   * (a restart without persistence), with `TypeError` if the message was already settled.
   */
  ack(): Promise<void>;
  /**
   * Gives the message back for another delivery (or to the dead-letter stream). Rejects
   * as `ack()` does.
   */
  nack(): Promise<void>;
}

const QUEUE_KEYS = [
  'client',
  'key',
  'capacity',
  'visibilityTimeout',
  'maxDeliveries',
  'group',
  'codec',
] as const;
const WAIT_KEYS = ['signal'] as const;

const FIELD = `local function field(f, name)
  for i = 1, #f, 2 do if f[i] == name then return f[i + 1] end end
  return nil
end
`;

// KEYS: stream. ARGV: capacity (0: none), encoded value. Reply: the new id, or false when full.
const PUT = new Script(
  'queue put',
  `local cap = tonumber(ARGV[1])
if cap > 0 and redis.call('XLEN', KEYS[1]) >= cap then return false end
return redis.call('XADD', KEYS[1], '*', 'v', ARGV[2])
`,
);

// Creates the group unless the stream already has another one (acks delete messages, so
// a second group would lose them). KEYS: stream. ARGV: group. Reply: the other group's
// name, or '' when the group exists now.
const GROUP = new Script(
  'queue group',
  `if redis.call('EXISTS', KEYS[1]) == 1 then
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    for i = 1, #g, 2 do
      if g[i] == 'name' and g[i + 1] ~= ARGV[1] then return g[i + 1] end
    end
  end
end
local r = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
if type(r) == 'table' and r.err and not string.find(r.err, 'BUSYGROUP') then return r end
return ''
`,
);

// Removes this consumer from the group when it holds nothing (never one with pending
// entries: that would drop them from the group's list). KEYS: stream. ARGV: group, consumer.
const LEAVE = new Script(
  'queue leave group',
  `if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
`,
);

// Takes back a message whose put was cancelled while its script was in flight, unless the
// group already read past it (then a consumer may hold or have handled it: it stays).
// KEYS: stream. ARGV: group, id. Reply: 1 when removed.
const UNPUT = new Script(
  'queue take back put',
  `local function before(a, b)
  local am, as = string.match(a, '(%d+)-(%d+)')
  local bm, bs = string.match(b, '(%d+)-(%d+)')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  if name == ARGV[1] and last and not before(last, ARGV[2]) then return 0 end
end
return redis.call('XDEL', KEYS[1], ARGV[2])
`,
);

// Moves an entry to the dead-letter stream (fields `v`, `id`, `deliveries`; an entry that
// has no `v`, written by something else than a RedisQueue, gets `error` instead of `v`).
const BURY = `local function bury(stream, dead, space, group, id, f, deliveries, inflight)
  local v = field(f, 'v')
  if v then
    redis.call('XADD', dead, '*', 'v', v, 'id', id, 'deliveries', deliveries)
  else
    redis.call('XADD', dead, '*', 'error', 'no field v', 'id', id, 'deliveries', deliveries)
  end
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
  redis.call('ZREM', inflight, id)
  redis.pcall('PUBLISH', space, '1')
end
`;

// The server's clock in ms, for the deadlines in \`{key}:q:inflight\`.
const NOW_MS = `local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

// One delivery without blocking: first a message whose holder's deadline passed (a
// consumer that died or stalled), else a new one. Each message handed out has its own
// deadline in the sorted set `{key}:q:inflight` (score: server ms), set when it is
// delivered and pushed back by each renewal of its holder's lease, by the holder's own
// visibility timeout: so instances with different timeouts never take a message that a
// live holder renews (X1), and the reclaim reads only the due entries, not the pending
// list of live consumers (X6). A pending message without a deadline (read by a blocking
// read whose consumer died before recording one, or by an older version) is reclaimed
// once idle for the claimer's visibility timeout (the scan pages past entries that have
// a deadline and keeps its place in `{key}:q:scan`, X6). Messages delivered more than
// `maxDeliveries` times go to the dead-letter stream on the way. At most once per this
// instance's sweep period (`{key}:q:sweep` holds the last sweep's time: each instance
// sweeps at its own period, X4), consumers that hold nothing and were idle for longer
// than `idle min` ms leave the group (processes that died or never closed, X3): a fixed
// threshold, far longer than any live consumer is idle (a blocking read, at most 5 s plus
// Redis's timer resolution); one that does come back is recreated by its next read.
// KEYS: stream, dead, space channel, sweep, inflight, scan. ARGV: group, consumer,
// visibility ms, maxDeliveries, sweep period ms, idle min ms.
// Reply: {id or '', value, deliveries}.
const TAKE = new Script(
  'queue take',
  `${FIELD}${BURY}${NOW_MS}
local stream, dead, space, inflight = KEYS[1], KEYS[2], KEYS[3], KEYS[5]
local group, consumer, vis, maxd = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local period, idlemin = tonumber(ARGV[5]), tonumber(ARGV[6])
local now = now_ms()
local last = tonumber(redis.call('GET', KEYS[4]))
if not last or now - last >= period then
  redis.call('SET', KEYS[4], now, 'PX', period)
  for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', stream, group)) do
    local name, pending, idle
    for i = 1, #c, 2 do
      if c[i] == 'name' then name = c[i + 1]
      elseif c[i] == 'pending' then pending = c[i + 1]
      elseif c[i] == 'idle' then idle = c[i + 1] end
    end
    if name ~= consumer and pending == 0 and idle and idle > idlemin then
      redis.call('XGROUP', 'DELCONSUMER', stream, group, name)
    end
  end
end
-- Takes over a pending message: its reply, or nil when it is gone or was dead-lettered.
local function claim(id)
  local p = redis.call('XPENDING', stream, group, id, id, 1)[1]
  if not p then
    redis.call('ZREM', inflight, id)
    return nil
  end
  local entry = redis.call('XCLAIM', stream, group, consumer, 0, id)[1]
  if not entry then
    -- Deleted from the stream while pending (Redis 6.2 keeps such ids): drop it.
    redis.call('XACK', stream, group, id)
    redis.call('ZREM', inflight, id)
    return nil
  end
  local f = entry[2]
  -- p[4]: the deliveries before this claim, which counts one more.
  local deliveries = tonumber(field(f, 'd') or '0') + p[4] + 1
  if deliveries > maxd or not field(f, 'v') then
    bury(stream, dead, space, group, id, f, deliveries - 1, inflight)
    return nil
  end
  redis.call('ZADD', inflight, now + vis, id)
  return {id, field(f, 'v'), deliveries}
end
for attempt = 1, 10 do
  local id = redis.call('ZRANGE', inflight, '-inf', now, 'BYSCORE', 'LIMIT', 0, 1)[1]
  if not id then break end
  local r = claim(id)
  if r then return r end
end
-- Pending entries idle for vis include those of live holders with a longer timeout
-- (they have a deadline, not due yet): page past them, at most 10 pages of 100 per
-- take, and keep the place in KEYS[6] so that the next take goes on from there (X6).
-- KEYS[6] is per visibility timeout (X1); '' means no saved place (SET, not DEL: X4).
local cursor = redis.call('GET', KEYS[6])
if cursor == '' then cursor = false end
local start = cursor and ('(' .. cursor) or '-'
local wrapped = not cursor
for page = 1, 10 do
  local list = redis.call('XPENDING', stream, group, 'IDLE', vis, start, '+', 100)
  for _, p in ipairs(list) do
    if not redis.call('ZSCORE', inflight, p[1]) then
      local r = claim(p[1])
      if r then return r end
    end
  end
  if #list < 100 then
    if cursor then redis.call('SET', KEYS[6], '', 'PX', 60000) cursor = nil end
    if wrapped then break end
    wrapped, start = true, '-'
  else
    cursor = list[#list][1]
    start = '(' .. cursor
    if page == 10 then redis.call('SET', KEYS[6], cursor, 'PX', 60000) end
  end
end
for attempt = 1, 10 do
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', stream, '>')
  local entry = r and r[1][2][1]
  if not entry then break end
  local deliveries = tonumber(field(entry[2], 'd') or '0') + 1
  if field(entry[2], 'v') then
    redis.call('ZADD', inflight, now + vis, entry[1])
    return {entry[1], field(entry[2], 'v'), deliveries}
  end
  bury(stream, dead, space, group, entry[1], entry[2], deliveries, inflight)
end
return {'', '', 0}
`,
);

// Dead-letters an entry read by a blocking read that has no `v` field (written by
// something else than a RedisQueue). KEYS: stream, dead, space, inflight. ARGV: group, id.
const BURY_ONE = new Script(
  'queue dead-letter foreign entry',
  `${FIELD}${BURY}
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])[1]
bury(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], e and e[2] or {}, 1, KEYS[4])
return 1
`,
);

// This consumer's pending entry for an id, or nil when it holds none: also when the
// group or the stream is gone (NOGROUP: Redis restarted without persistence, or the key
// was deleted), which means the message is no longer held. Other errors are raised.
const HELD = `local function held(stream, group, consumer, id)
  local r = redis.pcall('XPENDING', stream, group, id, id, 1)
  if type(r) == 'table' and r.err then
    if string.find(r.err, 'NOGROUP') then return nil end
    error(r)
  end
  local p = r[1]
  if not p or p[2] ~= consumer then return nil end
  return p
end
`;

// Acks and deletes a message this consumer still holds; 0 when it no longer does.
// KEYS: stream, space channel, inflight. ARGV: group, consumer, id.
const ACK = new Script(
  'queue ack',
  `${HELD}
if not held(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[3])
redis.pcall('PUBLISH', KEYS[2], '1')
return 1
`,
);

// Gives a held message back: appended again with its delivery count so far, or moved to
// the dead-letter stream once it reached maxDeliveries. ARGV[5] = '0' for a message that
// was read but never handed to anyone (that delivery does not count).
// KEYS: stream, dead, space channel, inflight. ARGV: group, consumer, id, maxDeliveries,
// counts.
const NACK = new Script(
  'queue nack',
  `${FIELD}${HELD}
local stream, group, id = KEYS[1], ARGV[1], ARGV[3]
local p = held(stream, group, ARGV[2], id)
if not p then return 0 end
local e = redis.call('XRANGE', stream, id, id)[1]
redis.call('XACK', stream, group, id)
redis.call('XDEL', stream, id)
redis.call('ZREM', KEYS[4], id)
if not e then return 0 end
local deliveries = tonumber(field(e[2], 'd') or '0') + p[4]
if ARGV[5] == '0' then deliveries = deliveries - 1 end
if deliveries >= tonumber(ARGV[4]) or not field(e[2], 'v') then
  redis.call('XADD', KEYS[2], '*', 'v', field(e[2], 'v') or '', 'id', id, 'deliveries', deliveries)
  redis.pcall('PUBLISH', KEYS[3], '1')
else
  redis.call('XADD', stream, '*', 'v', field(e[2], 'v'), 'd', deliveries)
end
return 1
`,
);

// Extends the visibility of a message this consumer still holds: its deadline is now +
// this consumer's visibility timeout (and its idle time starts again).
// KEYS: stream, inflight. ARGV: group, consumer, id, visibility ms.
const TOUCH = new Script(
  'queue touch',
  `${HELD}${NOW_MS}
if not held(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
redis.call('ZADD', KEYS[2], now_ms() + tonumber(ARGV[4]), ARGV[3])
return 1
`,
);

const jsonCodec: QueueCodec<never> = {
  encode(value) {
    let text: string | undefined;
    try {
      text = JSON.stringify(value) as string | undefined;
    } catch (err) {
      throw new TypeError(
        `Expected \`value\` to be representable as JSON, got ${describe(value)}`,
        { cause: err },
      );
    }
    if (text === undefined) {
      throw new TypeError(`Expected \`value\` to be representable as JSON, got ${describe(value)}`);
    }
    return text;
  },
  decode: (text) => JSON.parse(text) as never,
};

/** A message read from the stream; `sentAt`: `performance.now()` before the read was sent. */
interface Entry {
  id: string;
  value: string;
  deliveries: number;
  sentAt: number;
  /** Read by a blocking read: its deadline is not recorded yet (TOUCH records it). */
  unrecorded?: boolean;
}

let consumerSeq = 0;

/**
 * How long a consumer that holds nothing must have been idle before a sweep removes it:
 * ten times the longest a live consumer is idle (a blocking read, at most 5000 ms, plus
 * Redis's timer resolution and a take), whatever the instances' visibility timeouts (X4).
 * Mutable for tests only (not exported from the package).
 */
export const sweepIdle = { ms: 60_000 };

// How a getter that does not wait learns that nothing can be taken now.
const NOTHING_LEFT: unique symbol = Symbol('nothing left');

/** The state of an `asQueueLike()` view: once closed, its gets no longer wait. */
interface ViewState {
  closed: boolean;
  /** A get after close() found nothing: the view's gets reject at once. */
  ended: boolean;
}

class Message<T> implements RedisMessage<T> {
  readonly id: string;
  readonly value: T;
  readonly deliveryCount: number;
  readonly #lease: Lease;
  readonly #settle: (ack: boolean) => Promise<boolean>;
  #settled = false;

  constructor(
    id: string,
    value: T,
    deliveryCount: number,
    lease: Lease,
    settle: (ack: boolean) => Promise<boolean>,
  ) {
    this.id = id;
    this.value = value;
    this.deliveryCount = deliveryCount;
    this.#lease = lease;
    this.#settle = settle;
  }

  get signal(): AbortSignal {
    return this.#lease.signal;
  }

  get settled(): boolean {
    return this.#settled;
  }

  ack(): Promise<void> {
    return this.#done(true);
  }

  nack(): Promise<void> {
    return this.#done(false);
  }

  async #done(ack: boolean): Promise<void> {
    if (this.#settled) throw new TypeError(`Message ${this.id} was already acked or nacked`);
    this.#settled = true;
    stopLease(this.#lease);
    if (!(await this.#settle(ack))) {
      throw new LeaseLostError(
        `Message ${this.id} is no longer held by this consumer (its visibility timeout passed and it was handed out again, or Redis lost it: a restart without persistence)`,
      );
    }
  }
}

/**
 * A work queue shared by every process that uses the same Redis `key`, on Redis Streams
 * with a consumer group: the shape of `@weft/core`'s `Queue` (`put`, `get`, async
 * iteration) with what distribution needs on top: each message is acked or nacked, and
 * delivery is **at least once**, never exactly once: a consumer that dies (or pauses past
 * `visibilityTimeout`) before acking has its message handed to another consumer, so the
 * handler must be idempotent.
 *
 * - `put` respects `capacity`: it waits (pub/sub wake-ups from acks) until there is room.
 * - `get` hands out a message `{ value, deliveryCount, ack(), nack(), signal }`. While a
 *   consumer holds a message its visibility is extended in the background; `signal`
 *   aborts if that can no longer be confirmed.
 * - `for await (const msg of queue)` acks when the loop body completes and nacks when it
 *   throws or `break`s (ack explicitly before a `break` if the message was handled).
 * - Messages of dead consumers are reclaimed (`XCLAIM`) after their holder's
 *   `visibilityTimeout` (each message's deadline is kept in `{key}:q:inflight`);
 *   after `maxDeliveries` deliveries a message goes to the dead-letter stream
 *   `{key}:q:dead` (fields `v`, `id`, `deliveries`). An entry without a `v` field
 *   (written to the stream by something else) is dead-lettered at once, with `error`
 *   instead of `v`.
 *
 * Blocking reads run on one dedicated connection per instance (opened on the first
 * wait); cancelling a blocked `get` unblocks it at once (`CLIENT UNBLOCK`). `close()`
 * closes it. Within a process, getters and putters are served FIFO.
 *
 * Limits: a Redis restart without persistence loses the queue's content; a nacked message
 * goes to the tail, so order is FIFO only for first deliveries (a message read for a `get`
 * cancelled meanwhile also goes back to the tail, its delivery not counted).
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { RedisQueue } from '@weft/redis';
 *
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * await using jobs = new RedisQueue<{ url: string }>({ client, key: 'crawl', capacity: 1000 });
 * await jobs.put({ url: 'https://example.com' });
 * for await (const msg of jobs) {
 *   await fetch(msg.value.url, { signal: msg.signal }); // acked when the body completes
 * }
 * ```
 */
export class RedisQueue<T> implements AsyncDisposable, AsyncIterable<RedisMessage<T>> {
  readonly #redis: RedisAdapter;
  readonly #key: string;
  readonly #capacity: number;
  readonly #visibility: number;
  readonly #maxDeliveries: number;
  readonly #group: string;
  readonly #codec: QueueCodec<T>;
  readonly #consumer: string;
  readonly #stream: string;
  readonly #dead: string;
  readonly #space: string;
  // The key that spaces out sweeps of dead consumers, and how long they must be idle.
  readonly #sweep: string;
  readonly #sweepMs: number;
  // The deadline of each message handed out (score: server ms), set by its holder.
  readonly #inflight: string;
  // Where the reclaim's scan of the pending list goes on (X6).
  readonly #scan: string;
  // Each getter's data: the `asQueueLike()` view it comes from, if any. Once the view is
  // closed, its getters no longer wait: they take what is there now or fail with
  // NOTHING_LEFT.
  readonly #getters: WaitList<RedisMessage<T>, ViewState | undefined>;
  readonly #putters: WaitList<string, string>;
  // Whether the consumer group is known to exist (created lazily, again after NOGROUP).
  #group_ready: Promise<void> | undefined;
  // The running get and put loops, if any (close() waits for them).
  #getting: Promise<void> | undefined;
  #putting: Promise<void> | undefined;
  // The blocking connection with its CLIENT ID, and whether a read blocks on it now.
  #blocker: Promise<{ conn: RedisAdapter; id: string }> | undefined;
  #blocked: string | undefined;
  #subscriber: Promise<RedisAdapter> | undefined;
  // False once SUBSCRIBE was refused (NOPERM): a full put then polls every POLL_MS.
  #pubsub = true;
  #wakePut: (() => void) | undefined;
  // Counts acks heard: one that lands while a put's script is in flight is not missed.
  #acks = 0;
  #closed = false;
  // Aborts when close() is called: a connection still being opened gives up.
  readonly #closing = new AbortController();

  /** Throws a `TypeError`/`RangeError` for an invalid option. */
  constructor(options: RedisQueueOptions<T>) {
    assertOptions('options', options, QUEUE_KEYS);
    if (options === undefined)
      throw new TypeError('Expected `options` to be an object, got `undefined` (undefined)');
    this.#redis = toRedisAdapter(options.client);
    assertPrimitiveKey('key', options.key);
    const capacity = options.capacity ?? Number.POSITIVE_INFINITY;
    if (capacity !== Number.POSITIVE_INFINITY) assertInteger('capacity', capacity);
    const visibility = options.visibilityTimeout ?? 30_000;
    assertMs('visibilityTimeout', visibility, 3, MAX_TIMER_MS);
    const maxDeliveries = options.maxDeliveries ?? 5;
    assertInteger('maxDeliveries', maxDeliveries);
    const group = options.group ?? 'weft';
    assertKey('group', group);
    if (options.codec !== undefined) {
      const codec: unknown = options.codec;
      if (typeof codec !== 'object' || codec === null) {
        throw new TypeError(
          `Expected \`codec\` to be an object with \`encode\` and \`decode\` functions, got ${describe(codec)}`,
        );
      }
      assertFunction('codec.encode', options.codec.encode);
      assertFunction('codec.decode', options.codec.decode);
    }
    this.#key = options.key;
    this.#capacity = capacity;
    this.#visibility = visibility;
    this.#maxDeliveries = maxDeliveries;
    this.#group = group;
    this.#codec = options.codec ?? (jsonCodec as QueueCodec<T>);
    consumerSeq += 1;
    this.#consumer = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}-${consumerSeq}`;
    const k = tag(this.#key);
    this.#stream = `${k}:q`;
    this.#dead = `${k}:q:dead`;
    this.#space = `${k}:q:space`;
    this.#sweep = `${k}:q:sweep`;
    this.#inflight = `${k}:q:inflight`;
    // One paging cursor per idle threshold: its place means the same to every user (X1).
    this.#scan = `${k}:q:scan:${visibility}`;
    // How often this instance sweeps; whom it removes does not depend on it (sweepIdle).
    this.#sweepMs = Math.min(10 * visibility + 1000, 2 ** 31 - 1);
    this.#getters = new WaitList(() => {
      if (this.#getters.size === 0) this.#unblock();
    });
    this.#putters = new WaitList(() => {
      if (this.#putters.size === 0) this.#wakePut?.();
    });
  }

  /** The queue's key. */
  get key(): string {
    return this.#key;
  }

  /** The stream that holds the messages (`{key}:q`). */
  get stream(): string {
    return this.#stream;
  }

  /** The dead-letter stream (`{key}:q:dead`). */
  get deadLetterStream(): string {
    return this.#dead;
  }

  /** This instance's consumer name in the group. */
  get consumer(): string {
    return this.#consumer;
  }

  /**
   * How many messages are in the queue (waiting or held by a consumer), across processes.
   *
   * @example
   * ```ts
   * console.log(`${await queue.size()} jobs left`);
   * ```
   */
  async size(): Promise<number> {
    return int(await command(this.#redis, ['XLEN', this.#stream], this.#stream));
  }

  /**
   * Appends `value`, waiting while the queue holds `capacity` messages. Resolves with the
   * message id. When cancelled, it either rejects with the signal's reason, and then
   * nothing was added, or resolves with the id: a cancellation that comes while the put's
   * script is in flight waits for its reply, and a message added meanwhile is taken back
   * by a second script unless a consumer already read it (the cancellation lost the race:
   * the message is in the queue). Rejects with {@link RedisCommandError} when Redis
   * fails, with {@link ClosedError} after `close()` (a put whose script is in flight when
   * `close()` is called settles from its reply, as a cancelled one does).
   *
   * @example
   * ```ts
   * await queue.put({ url: 'https://example.com' }, { signal: AbortSignal.timeout(1000) });
   * ```
   */
  put(value: T, options?: RedisQueueWaitOptions): Promise<string> {
    if (this.#closed) return Promise.reject(this.#closedError());
    let promise: Promise<string>;
    try {
      // Bad input rejects, as with `@weft/core`'s Queue.
      const text: unknown = this.#codec.encode(value);
      // A client would turn anything else into text (`undefined` into "undefined"): the
      // value read back would not be the value put.
      if (typeof text !== 'string') {
        throw new TypeError(`Expected \`codec.encode\` to return a string, got ${describe(text)}`);
      }
      promise = this.#putters.add('options', options, WAIT_KEYS, text).promise;
    } catch (err) {
      return Promise.reject(err);
    }
    // The group is created before the first message, so that every message is delivered.
    void this.#ensureGroup().then(
      () => this.#kickPut(),
      (err: unknown) => {
        this.#putters.failAll(err);
      },
    );
    return promise;
  }

  /**
   * Takes the next message, waiting until there is one: a message abandoned by a dead
   * consumer first, else the oldest new one. Rejects with the signal's reason when
   * cancelled (a blocked read is unblocked at once, and nothing is taken: a message whose
   * read was already under way is given back, uncounted, at the tail of the queue), with
   * {@link RedisCommandError} when Redis fails, with {@link ClosedError} after `close()`.
   *
   * @example
   * ```ts
   * const msg = await queue.get({ signal: AbortSignal.timeout(5000) });
   * try {
   *   await handle(msg.value, msg.signal);
   *   await msg.ack();
   * } catch (err) {
   *   await msg.nack();
   *   throw err;
   * }
   * ```
   */
  get(options?: RedisQueueWaitOptions): Promise<RedisMessage<T>> {
    if (this.#closed) return Promise.reject(this.#closedError());
    let promise: Promise<RedisMessage<T>>;
    try {
      promise = this.#getters.add('options', options, WAIT_KEYS, undefined).promise;
    } catch (err) {
      // Bad options reject, as with `@weft/core`'s Queue.
      return Promise.reject(err);
    }
    this.#kickGet();
    return promise;
  }

  /**
   * The messages, one at a time: each is acked when the loop body completes and nacked
   * when it throws or breaks out, unless the body settled it itself. Ends quietly when the
   * queue is closed; rejects with the signal's reason when cancelled.
   *
   * @example
   * ```ts
   * for await (const msg of queue.messages({ signal })) {
   *   await handle(msg.value);
   * }
   * ```
   */
  async *messages(
    options?: RedisQueueWaitOptions,
  ): AsyncGenerator<RedisMessage<T>, void, undefined> {
    assertOptions('options', options, WAIT_KEYS);
    for (;;) {
      let msg: RedisMessage<T>;
      try {
        msg = await this.get(options);
      } catch (err) {
        if (err instanceof ClosedError) return;
        throw err;
      }
      let completed = false;
      try {
        yield msg;
        completed = true;
      } finally {
        if (!msg.settled) {
          if (completed) await msg.ack();
          else await msg.nack();
        }
      }
    }
  }

  /**
   * This queue as `@weft/core`'s `QueueLike<T>`, for code written against the in-process
   * `Queue` (plain values, no ack): `get()` acks a message as soon as it is received (if
   * the process then dies, that message is lost: at-most-once for `get`), while async
   * iteration acks when the loop body completes and gives the message back when it throws
   * or breaks (at-least-once). `put` resolves without the id.
   *
   * `close()` follows `QueueLike`: no more puts through this view (later and pending ones
   * reject with {@link ClosedError}), and gets drain what is left, then end. For a queue
   * shared through Redis, "what is left" is what the queue can hand out at that moment
   * (messages waiting in the stream, whoever put them, and messages abandoned by dead
   * consumers): a get after `close()` takes one without waiting, and the first that
   * finds nothing rejects with `ClosedError` (iteration ends) and ends the view (its
   * later gets reject too), wherever its gets are among the instance's other getters.
   * Messages held by live consumers elsewhere are not waited for. Closing a view ends that
   * view only: the instance and its other views go on until you close the `RedisQueue`
   * itself. `close()` (and the end of the drain) closes this instance's connections that
   * nothing waits on, so a process that only puts can exit without closing the instance.
   *
   * @example
   * ```ts
   * import type { QueueLike } from '@weft/core';
   *
   * async function drain(queue: QueueLike<string>): Promise<void> {
   *   for await (const line of queue) console.log(line);
   * }
   * await drain(redisQueue.asQueueLike());
   * ```
   */
  asQueueLike(): QueueLike<T> {
    const state: ViewState = { closed: false, ended: false };
    // Cancels the view's pending puts when it closes.
    const closing = new AbortController();
    const closedError = (): ClosedError =>
      new ClosedError(`The queue \`${this.#key}\` view is closed`);
    // A message: a wait until the view closes, then what can be taken at once. A get
    // waiting when the view closes stops waiting without giving up its place: a message
    // its read already brought is still its own (the order is kept).
    // The first that finds nothing ends this view only (X3): the instance and its other
    // views go on; connections that nothing needs any more are closed.
    const take = async (options: RedisQueueWaitOptions | undefined): Promise<RedisMessage<T>> => {
      if (state.ended) throw closedError();
      try {
        return await this.#getFor(options, state);
      } catch (err) {
        if (err !== NOTHING_LEFT) throw err;
        state.ended = true;
        await this.#closeIdle();
        throw closedError();
      }
    };
    async function* iterate(): AsyncGenerator<T, void, undefined> {
      for (;;) {
        let msg: RedisMessage<T>;
        try {
          msg = await take(undefined);
        } catch (err) {
          if (err instanceof ClosedError) return;
          throw err;
        }
        let completed = false;
        try {
          yield msg.value;
          completed = true;
        } finally {
          if (!msg.settled) {
            if (completed) await msg.ack();
            else await msg.nack();
          }
        }
      }
    }
    return {
      put: async (item, options) => {
        if (state.closed) throw closedError();
        assertOptions('options', options, WAIT_KEYS);
        const joined = joinSignals(options?.signal, closing.signal);
        try {
          await this.put(item, { signal: joined.signal });
        } catch (err) {
          if (closing.signal.aborted && err === closing.signal.reason) throw closedError();
          throw err;
        } finally {
          joined.dispose();
        }
      },
      get: async (options) => {
        const msg = await take(options);
        await msg.ack();
        return msg.value;
      },
      close: async () => {
        if (state.closed) return;
        state.closed = true;
        // Pending puts through the view are cancelled (taken back) and reject; waiting
        // gets stop waiting (a blocked read ends now) and drain.
        closing.abort(closedError());
        this.#unblock(true);
        await this.#closeIdle();
      },
      [Symbol.asyncIterator]: iterate,
    };
  }

  // A get for an `asQueueLike()` view: once the view is closed, a message that can be
  // taken now, or a rejection with NOTHING_LEFT.
  #getFor(options: RedisQueueWaitOptions | undefined, view: ViewState): Promise<RedisMessage<T>> {
    if (this.#closed) return Promise.reject(this.#closedError());
    let promise: Promise<RedisMessage<T>>;
    try {
      promise = this.#getters.add('options', options, WAIT_KEYS, view).promise;
    } catch (err) {
      return Promise.reject(err);
    }
    // A get on a closed view must not wait out another getter's blocking read (X2).
    if (view.closed) this.#unblock(true);
    this.#kickGet();
    return promise;
  }

  // Closes the blocking and subscriber connections when nothing waits on them (they open
  // again when something does).
  async #closeIdle(): Promise<void> {
    if (this.#closed) return;
    if (this.#putters.size === 0 && this.#subscriber !== undefined) {
      const sub = this.#subscriber;
      this.#subscriber = undefined;
      await sub.then((conn) => conn.close()).catch(() => {});
    }
    if (this.#getters.size === 0 && this.#getting !== undefined) await this.#getting;
    if (this.#getters.size === 0 && this.#blocker !== undefined && !this.#closed) {
      const blocker = this.#blocker;
      this.#blocker = undefined;
      await blocker.then((b) => b.conn.close()).catch(() => {});
    }
  }

  /** Same as `messages()`: `for await (const msg of queue)`. */
  [Symbol.asyncIterator](): AsyncGenerator<RedisMessage<T>, void, undefined> {
    return this.messages();
  }

  /**
   * Rejects waiting calls with {@link ClosedError}, closes this instance's own connections
   * and removes its consumer from the group when it holds no message. Messages already
   * handed out stay valid until settled (their consumer then stays in the group). If Redis
   * does not answer within `visibilityTimeout` (an outage), `close()` returns anyway and
   * the rest finishes in the background (a message read meanwhile for a getter that is
   * gone is then reclaimed like any abandoned one).
   *
   * @example
   * ```ts
   * await queue.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = this.#closedError();
    this.#getters.failAll(error);
    // A put whose script is in flight settles from its reply (X5): it resolves if its
    // message stayed (a consumer read it), rejects if the take-back removed it.
    this.#putters.cancelAll(error);
    this.#wakePut?.();
    // A connection still being opened (an outage) gives up: no reconnect timer is left.
    this.#closing.abort(error);
    const blocker = this.#blocker;
    const sub = this.#subscriber;
    this.#blocker = this.#subscriber = undefined;
    // Bounded by `visibilityTimeout`, so that an outage does not hang close(): a message
    // read for a getter that is gone is reclaimed after it anyway. What is still pending
    // then finishes in the background.
    let failure: { error: unknown } | undefined;
    const work = (async () => {
      const conns = await Promise.all([
        blocker?.then((b) => b.conn).catch(() => undefined),
        sub?.catch(() => undefined),
      ]);
      await Promise.all(conns.filter((c) => c !== undefined).map((c) => c.close()));
      // A message read for a getter that is gone is given back before close() returns.
      if (this.#getting !== undefined) await this.#getting;
      if (this.#putting !== undefined) await this.#putting;
      // Leave the group unless this consumer still holds a message (it is left in the
      // group then, and TAKE hands that message on if it is never settled). A
      // failure only leaves an empty consumer entry behind.
      if (this.#group_ready !== undefined) {
        await LEAVE.run(this.#redis, [this.#stream], [this.#group, this.#consumer]).catch(() => {});
      }
    })().catch((error: unknown) => {
      failure = { error };
    });
    let bound: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      work,
      new Promise<void>((resolve) => {
        bound = setTimeout(resolve, this.#visibility);
      }),
    ]);
    clearTimeout(bound);
    if (failure !== undefined) throw failure.error;
  }

  /** Same as {@link RedisQueue.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #closedError(): ClosedError {
    return new ClosedError(`The queue \`${this.#key}\` is closed`);
  }

  // --- consumer group ---

  #ensureGroup(again = false): Promise<void> {
    if (this.#group_ready === undefined || again) {
      const ready = GROUP.run(this.#redis, [this.#stream], [this.#group]).then((other) => {
        if (other !== '' && other !== null && other !== undefined) {
          throw new TypeError(
            `Expected \`group\` to be the only consumer group of \`${this.#stream}\` (an ack deletes the message for every group), got ${describe(this.#group)} while the stream has the group ${describe(String(other))}`,
          );
        }
      });
      this.#group_ready = ready;
      ready.catch(() => {
        if (this.#group_ready === ready) this.#group_ready = undefined;
      });
    }
    return this.#group_ready;
  }

  /** Runs `fn`, creating the group again once if Redis says it does not exist (restart). */
  async #withGroup<R>(fn: () => Promise<R>): Promise<R> {
    await this.#ensureGroup();
    try {
      return await fn();
    } catch (err) {
      if (
        !(err instanceof RedisCommandError) ||
        !String((err.cause as Error)?.message).includes('NOGROUP')
      )
        throw err;
      await this.#ensureGroup(true);
      return await fn();
    }
  }

  // --- getting ---

  #kickGet(): void {
    if (this.#getting !== undefined) return;
    this.#getting = this.#pumpGet()
      // Every failure is meant to reach a waiter; an unexpected one must not be lost either.
      .catch((err: unknown) => this.#getters.failAll(err))
      .finally(() => {
        this.#getting = undefined;
        if (this.#getters.size > 0 && !this.#closed) this.#kickGet();
      });
  }

  async #pumpGet(): Promise<void> {
    while (!this.#closed) {
      const head = this.#getters.head;
      if (head === undefined) return;
      let entry: Entry | undefined;
      try {
        entry = await this.#take();
        if (entry === undefined) {
          // The getters that do not wait (a closed view's drain) learn that nothing is
          // left, wherever they are in the line (X2): the others keep their order.
          if (this.#failClosedViews()) continue;
          if (this.#getters.size > 0) entry = await this.#blockingRead();
        }
      } catch (err) {
        (this.#getters.head ?? head).fail(err);
        continue;
      }
      if (entry !== undefined) await this.#deliver(entry);
    }
  }

  #hasClosedView(): boolean {
    for (const w of this.#getters) if (w.data?.closed === true) return true;
    return false;
  }

  // Fails every getter of a closed view with NOTHING_LEFT; whether there was one.
  #failClosedViews(): boolean {
    let any = false;
    for (const w of [...this.#getters]) {
      if (w.data?.closed === true) {
        w.fail(NOTHING_LEFT);
        any = true;
      }
    }
    return any;
  }

  async #take(): Promise<Entry | undefined> {
    // The message's visibility runs from (at the latest) when the script ran: count from
    // before it was sent, so that a slow reply errs on the safe side.
    const sentAt = performance.now();
    const reply = (await this.#withGroup(() =>
      TAKE.run(
        this.#redis,
        [this.#stream, this.#dead, this.#space, this.#sweep, this.#inflight, this.#scan],
        [
          this.#group,
          this.#consumer,
          this.#visibility,
          this.#maxDeliveries,
          this.#sweepMs,
          sweepIdle.ms,
        ],
      ),
    )) as unknown;
    if (!Array.isArray(reply) || reply.length !== 3) {
      throw new RedisCommandError(
        'script queue take',
        new TypeError(`unexpected reply ${describe(reply)}`),
      );
    }
    const id = String(reply[0] ?? '');
    if (id === '') return undefined;
    return { id, value: String(reply[1]), deliveries: int(reply[2]), sentAt };
  }

  async #blockingRead(): Promise<Entry | undefined> {
    const { conn, id } = await this.#connection();
    if (this.#getters.size === 0 || this.#closed) return undefined;
    // A closed view's get does not wait: #pumpGet answers it first.
    if (this.#hasClosedView()) return undefined;
    // At most half the visibility timeout (X2); Redis may end it later (its timer
    // resolution is about 100 ms), and a message that arrives late in the block is
    // confirmed by #deliver before it is handed out.
    const block = Math.max(1, Math.min(5000, Math.floor(this.#visibility / 2)));
    const args = [
      'XREADGROUP',
      'GROUP',
      this.#group,
      this.#consumer,
      'COUNT',
      '1',
      'BLOCK',
      String(block),
      'STREAMS',
      this.#stream,
      '>',
    ];
    let reply: unknown;
    // As in #take: the entry was read no earlier than this (#deliver confirms a message
    // whose reply comes a third of the visibility or more after it).
    const sentAt = performance.now();
    this.#blocked = id;
    try {
      reply = await this.#withGroup(async () => {
        try {
          return await conn.send(args, this.#stream);
        } catch (err) {
          throw new RedisCommandError('XREADGROUP', err);
        }
      });
    } catch (err) {
      // The connection may be broken: open a new one next time.
      if (this.#blocker !== undefined) {
        const old = this.#blocker;
        this.#blocker = undefined;
        void old.then((b) => b.conn.close()).catch(() => {});
      }
      if (this.#closed) return undefined;
      throw err;
    } finally {
      this.#blocked = undefined;
    }
    const entry: StreamEntry | undefined = readReply(reply)[0];
    if (entry === undefined) return undefined;
    if (entry.fields.v === undefined) {
      // Not written by a RedisQueue: it can never be handled; dead-letter it, read on.
      await BURY_ONE.run(
        this.#redis,
        [this.#stream, this.#dead, this.#space, this.#inflight],
        [this.#group, entry.id],
      );
      return undefined;
    }
    return {
      id: entry.id,
      value: entry.fields.v ?? '',
      deliveries: Number(entry.fields.d ?? '0') + 1,
      sentAt,
      unrecorded: true,
    };
  }

  #connection(): Promise<{ conn: RedisAdapter; id: string }> {
    if (this.#blocker === undefined) {
      const made = (async () => {
        let conn: RedisAdapter;
        try {
          conn = await this.#redis.duplicate(this.#stream, this.#closing.signal);
        } catch (err) {
          throw new RedisCommandError('connect (blocking reads)', err);
        }
        try {
          return { conn, id: String(await conn.send(['CLIENT', 'ID'], this.#stream)) };
        } catch (err) {
          await conn.close();
          throw new RedisCommandError('CLIENT ID', err);
        }
      })();
      this.#blocker = made;
      made.catch(() => {
        if (this.#blocker === made) this.#blocker = undefined;
      });
    }
    return this.#blocker;
  }

  // Nobody waits any more: end the blocked read now, so the connection is free.
  // `force`: even though getters are left (they no longer wait).
  #unblock(force = false): void {
    const id = this.#blocked;
    if (id === undefined) return;
    const attempt = async (): Promise<void> => {
      // The read may not have reached the server yet: try again briefly (bounded).
      for (let i = 0; i < 20 && this.#blocked === id && (force || this.#getters.size === 0); i++) {
        const n = await command(this.#redis, ['CLIENT', 'UNBLOCK', id], this.#stream).catch(
          () => 0,
        );
        if (int(n) === 1) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    void attempt();
  }

  async #deliver(entry: Entry): Promise<void> {
    const head: Waiter<RedisMessage<T>, ViewState | undefined> | undefined = this.#getters.head;
    if (head === undefined || this.#closed) {
      // Read for a waiter that left meanwhile: give it back; this delivery does not count.
      await this.#nack(entry.id, false).catch(() => {});
      return;
    }
    let value: T;
    try {
      value = this.#codec.decode(entry.value);
    } catch (err) {
      // Undecodable: it can never be handled; count the delivery so it ends dead-lettered.
      await this.#nack(entry.id, true).catch(() => {});
      head.fail(
        new TypeError(`Message ${entry.id} of \`${this.#key}\` could not be decoded`, {
          cause: err,
        }),
      );
      return;
    }
    const touch = async (): Promise<boolean> =>
      int(
        await TOUCH.run(
          this.#redis,
          [this.#stream, this.#inflight],
          [this.#group, this.#consumer, entry.id, this.#visibility],
        ),
      ) === 1;
    // A reply that came a third of the visibility timeout or more after its read was sent
    // (a blocking read that waited for the message: Redis ends a BLOCK only at its own
    // timer's resolution, about 100 ms, so with a short visibility timeout this is the
    // rule; or a slow reply): the message may soon be, or already be, another consumer's.
    // Confirm it first, as a late semaphore grant is: TOUCH resets its idle time if this
    // consumer still holds it, and the visibility then counts from that (X2).
    // A message read by a blocking read is confirmed in any case: that records its
    // deadline (X1).
    let sentAt = entry.sentAt;
    let unrecorded = entry.unrecorded === true;
    for (
      let attempt = 0;
      unrecorded || performance.now() - sentAt >= this.#visibility / 3;
      attempt++
    ) {
      unrecorded = false;
      if (attempt === 3) {
        // Redis answers too late to hold anything: give it back, uncounted.
        await this.#nack(entry.id, false).catch(() => {});
        return;
      }
      const again = performance.now();
      let held: boolean;
      try {
        held = await touch();
      } catch {
        // Unreachable: it stays pending here and is reclaimed like an abandoned message.
        return;
      }
      // Another consumer's now: it was never handed out here.
      if (!held) return;
      sentAt = again;
    }
    if (head.settled || this.#closed) {
      // The waiter left while the message was confirmed: give it back, uncounted.
      await this.#nack(entry.id, false).catch(() => {});
      return;
    }
    const lease = new Lease(
      `message ${entry.id} of \`${this.#key}\``,
      this.#visibility,
      sentAt,
      touch,
    );
    const settle = async (ack: boolean): Promise<boolean> =>
      ack
        ? int(
            await ACK.run(
              this.#redis,
              [this.#stream, this.#space, this.#inflight],
              [this.#group, this.#consumer, entry.id],
            ),
          ) === 1
        : await this.#nack(entry.id, true);
    head.fulfil(new Message(entry.id, value, entry.deliveries, lease, settle));
  }

  async #nack(id: string, counts: boolean): Promise<boolean> {
    const reply = await NACK.run(
      this.#redis,
      [this.#stream, this.#dead, this.#space, this.#inflight],
      [this.#group, this.#consumer, id, this.#maxDeliveries, counts ? '1' : '0'],
    );
    return int(reply) === 1;
  }

  // --- putting ---

  #kickPut(): void {
    if (this.#putting !== undefined) return;
    this.#putting = this.#pumpPut()
      .catch((err: unknown) => this.#putters.failAll(err))
      .finally(() => {
        this.#putting = undefined;
        if (this.#putters.size > 0 && !this.#closed) this.#kickPut();
      });
  }

  async #pumpPut(): Promise<void> {
    while (!this.#closed) {
      const head = this.#putters.head;
      if (head === undefined) return;
      const acks = this.#acks;
      let id: unknown;
      // A cancellation while the script is in flight waits for its outcome (X5).
      head.hold = true;
      try {
        id = await PUT.run(
          this.#redis,
          [this.#stream],
          [Number.isFinite(this.#capacity) ? this.#capacity : 0, head.data],
        );
      } catch (err) {
        head.hold = false;
        // The script may have run (the reply is what was lost): report the command's
        // error, whose outcome is open, not the cancellation, which means "added nothing" (X3).
        head.fail(err);
        continue;
      }
      head.hold = false;
      if (id !== null && id !== undefined && id !== false) {
        if (!head.settled && !head.cancelled) {
          head.fulfil(String(id));
          continue;
        }
        // The put raced with its cancellation (or close()): take it back, unless the group
        // already read past it (a consumer may hold or have handled it). A cancelled put
        // then resolves: its message is in the queue; it rejects only when nothing was
        // added (a take-back that fails leaves the message, so the put resolves too).
        const removed = await UNPUT.run(this.#redis, [this.#stream], [this.#group, String(id)])
          .then((n) => int(n) === 1)
          .catch(() => false);
        if (removed) head.fail(head.reason);
        else head.fulfil(String(id));
        continue;
      }
      if (head.cancelled) {
        head.fail(head.reason);
        continue;
      }
      if (head.settled) continue;
      if (this.#subscriber === undefined && this.#pubsub) {
        try {
          await this.#subscribe();
        } catch (err) {
          // An ACL user without channel rights (NOPERM): wake-ups are best effort, so
          // this instance polls instead of failing its putters.
          if (isNoPermission(err)) this.#pubsub = false;
          else head.fail(err);
        }
        continue;
      }
      if (acks !== this.#acks) continue;
      // Full: wait for an ack anywhere (pub/sub), or look again after a while (often
      // when pub/sub is refused).
      const waitMs = this.#pubsub ? 1000 + jitter(1000) : POLL_MS + jitter(POLL_MS);
      await new Promise<void>((resolve) => {
        const cancel = timer(waitMs, () => {
          this.#wakePut = undefined;
          resolve();
        });
        this.#wakePut = () => {
          this.#wakePut = undefined;
          cancel();
          resolve();
        };
      });
    }
  }

  #acked(): void {
    this.#acks += 1;
    this.#wakePut?.();
  }

  #subscribe(): Promise<RedisAdapter> {
    const sub = (async () => {
      let conn: RedisAdapter;
      try {
        conn = await this.#redis.duplicate(this.#space, this.#closing.signal);
      } catch (err) {
        throw new RedisCommandError('connect (subscriber)', err);
      }
      if (this.#closed) {
        await conn.close();
        throw this.#closedError();
      }
      try {
        await conn.subscribe(this.#space, () => this.#acked());
      } catch (err) {
        await conn.close();
        throw new RedisCommandError('SUBSCRIBE', err);
      }
      return conn;
    })();
    this.#subscriber = sub;
    sub.catch(() => {
      if (this.#subscriber === sub) this.#subscriber = undefined;
    });
    return sub;
  }
}
