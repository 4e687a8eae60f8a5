import {
  type AcquireOptions,
  type AsyncPermit,
  attachSuppressed,
  callerContext,
  type RunContext,
  type SemaphoreLike,
} from '@weft/core';
import { type RedisAdapter, toRedisAdapter } from './client.ts';
import { ClosedError, RedisCommandError } from './errors.ts';
import { Lease, Renewals, stopLease } from './internal/lease.ts';
import {
  command,
  int,
  isNoPermission,
  NOW_US,
  POLL_MS,
  STAMP,
  Script,
  send,
  tag,
} from './internal/script.ts';
import {
  assertFunction,
  assertInteger,
  assertPrimitiveKey,
  assertMs,
  MAX_TIMER_MS,
  assertOptions,
} from './internal/validate.ts';
import { joinSignals } from './internal/signals.ts';
import { jitter, timer, type Waiter, WaitList } from './internal/waiters.ts';

/** Options of {@link RedisSemaphore}. */
export interface RedisSemaphoreOptions {
  /** A node-redis client, an ioredis client or a {@link RedisAdapter}. Used as it is. */
  client: unknown;
  /**
   * The name of the shared semaphore: every process using the same key shares it.
   * Non-empty, and not starting with `}` (a `RangeError`): its keys are `{key}:…`, and
   * the hash tag must not be empty for Redis Cluster to keep them in one slot.
   */
  key: string;
  /** How many permits exist across all processes. */
  permits: number;
  /**
   * How long a permit stays held without renewal, in ms. Held permits are renewed every
   * third of it in the background; a holder that dies frees its permit within one lease.
   * From 3 to 2^31 - 1 (about 24.8 days, the longest timer); outside that, a `RangeError`.
   * @default 30000
   */
  lease?: number | undefined;
}

/**
 * Options of {@link RedisSemaphore.acquire}: `@weft/core`'s `AcquireOptions` (`signal`,
 * which adds to the enclosing task's).
 */
export type RedisAcquireOptions = AcquireOptions;

/**
 * What {@link RedisSemaphore.run} passes to its function: `signal` aborts when the
 * caller's effective signal aborts or when the permit's lease is lost; `permit` is the
 * permit held (for its fencing `token`).
 *
 * @example
 * ```ts
 * await sem.run(({ signal, permit }) => storage.write(data, { signal, fence: permit.token }));
 * ```
 */
export interface RedisRunContext extends RunContext {
  readonly permit: RedisPermit;
}

/**
 * A permit of a {@link RedisSemaphore}. Release it once (`await permit.release()`), or let
 * `await using` do it.
 *
 * `token` is a fencing token: strictly greater than the token of every permit granted
 * before it on this key. Pass it to the protected resource and have the resource refuse a
 * token lower than one it has seen: that is what makes a holder that paused past its
 * lease (GC, `SIGSTOP`, a slow network) harmless (Kleppmann, "How to do distributed
 * locking"). A lease alone cannot: the holder may not know that it lost it.
 *
 * Tokens are at least the Redis server's time in microseconds (about 1.7e15, a safe
 * integer), so they keep growing even after a restart without persistence forgot the
 * last one; that holds as long as the server's clock does not go back (a failover to a
 * machine whose clock is behind can break it).
 *
 * `signal` aborts with {@link LeaseLostError} when the lease can no longer be confirmed:
 * the holder must stop, since another process may now hold the permit.
 *
 * @example
 * ```ts
 * await using permit = await sem.acquire();
 * await storage.write(data, { signal: permit.signal, fence: permit.token });
 * ```
 */
export interface RedisPermit extends AsyncPermit {
  /** The fencing token (monotonic per key). */
  readonly token: number;
  /** Aborts with `LeaseLostError` when the lease is lost. */
  readonly signal: AbortSignal;
  /** Whether `release()` was called. */
  readonly released: boolean;
  /**
   * Gives the permit back and wakes waiters in every process. Calling it twice rejects
   * with a `TypeError`. If Redis cannot be reached it rejects with `RedisCommandError`;
   * the permit then frees itself when its lease runs out. If only the wake-up fails (the
   * `PUBLISH` sent after the permit was removed, when some process waits), it resolves:
   * the permit is free, and the waiters take it at their fallback timer.
   */
  release(): Promise<void>;
}

const SEM_KEYS = ['client', 'key', 'permits', 'lease'] as const;
const ACQUIRE_KEYS = ['signal'] as const;

// One key per semaphore, a sorted set (KEYS[1]) holding:
// - each holder: member = permit id, score = its lease expiry in server µs (always > 0);
// - `~fence`, score = minus the last fencing token (a ZADD with LT keeps the largest token,
//   in the same command that adds the holder: no key or command of its own);
// - `~wait` and `~wait2`, score 0, present while some process may wait: a refused waiter
//   adds them (the contended path pays for it), a release removes them with its own ZREM
//   and only then publishes. Two of them make ZREM's count unambiguous: 1 = the holder
//   only, 2 = the markers only, 3 = both.
// Holders are the members with a score above 0 (ZCOUNT (0 +inf). ZCARD minus one (the
// fence: every holder is added by the ZADD that also writes the fence, so it is missing
// only from a set with no holder) is cheaper and never below the holders' count: only
// when it reaches `permits` does the script count exactly.
//
// ACQUIRE. ARGV: permits, lease µs, id, '1' when the caller will wait for a release.
// Replies with the token (positive) when granted, else minus the µs until the earliest
// lease expires; a Lua number, so an integer reply (far cheaper for a client to read than
// a bulk string; exact: tokens stay below 2^53 until the year 2255). Expired holders are trimmed only when they could matter (the count
// reaches `permits`): counted otherwise they only make the count high, never admit more,
// and there are at most `permits` of them.
// The token is the server time in µs when that is above the last token, else the last
// token plus one: at least the server time (tokens keep growing after a restart without
// persistence forgot the last one, as long as the server's clock does not go back) and
// strictly above every earlier one. ZADD ... LT CH replies 2 when it also moved the fence
// (then the token is `stamp`), 1 when the fence was at or above it (the same µs, or the
// clock went back): then ZINCRBY moves it one further.
// Times go to Redis as strings: built by concatenation where possible, else printed with
// `%d`, cheaper than `%.0f` or the `%.17g` Redis uses for a Lua number (number formatting
// in Redis's Lua costs about as much as a command). `%d` prints a C long: where that has
// 32 bits, the result is not the 16 digits of a time in µs, and `%.0f` prints it instead.
const ACQUIRE = new Script(
  'semaphore acquire',
  `${STAMP}
local permits = tonumber(ARGV[1])
local held = redis.call('ZCARD', KEYS[1]) - 1
if held >= permits then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '(0', stamp)
  held = redis.call('ZCOUNT', KEYS[1], '(0', '+inf')
end
if held < permits then
  -- Two short numbers are cheaper to parse than the 16 digits of stamp.
  local now = t[1] * 1000000 + t[2]
  local expiry = now + ARGV[2]
  local text = string.format('%d', expiry)
  if #text ~= 16 then text = string.format('%.0f', expiry) end
  if redis.call('ZADD', KEYS[1], 'LT', 'CH', text, ARGV[3], '-' .. stamp, '~fence') == 2 then
    return now
  end
  return -tonumber(redis.call('ZINCRBY', KEYS[1], '-1', '~fence'))
end
if ARGV[4] == '1' then redis.call('ZADD', KEYS[1], '0', '~wait', '0', '~wait2') end
local first = redis.call('ZRANGE', KEYS[1], '(0', '+inf', 'BYSCORE', 'LIMIT', '0', '1', 'WITHSCORES')
return -math.max(1, tonumber(first[2]) - tonumber(stamp))
`,
);

// Extends a lease that is still held; 0 when it expired or is gone.
const RENEW = new Script(
  'semaphore renew',
  `${NOW_US}
local expiry = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[2]))
if not expiry then return 0 end
if expiry <= now then
  redis.call('ZREM', KEYS[1], ARGV[2])
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', string.format('%.0f', now + tonumber(ARGV[1])), ARGV[2])
return 1
`,
);

// Permit ids: random per process (with its start time), then a counter.
const ID_PREFIX = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}-`;
let idSeq = 0;
function newId(): string {
  idSeq += 1;
  return ID_PREFIX + idSeq;
}

// What one ACQUIRE call gave: a permit, a grant whose reply came late (to be confirmed
// with RENEW before it is handed out), or how many ms to sleep before asking again.
type TryResult = Permit | LateGrant | number;

// A grant whose reply arrived a third of a lease or more after its ACQUIRE was sent. A
// lease counts from when its command was sent (lease.ts), so such a permit may be (nearly)
// expired already, and its first renewal, a third of a lease after the reply, would come
// too late: it is confirmed with RENEW first (RedisSemaphore.#confirm).
class LateGrant {
  readonly token: number;
  readonly id: string;
  constructor(token: number, id: string) {
    this.token = token;
    this.id = id;
  }
}

// The script call that #kick made for `head`, handed to the loop (#serve) when it was not
// a plain grant; `releases`: the count of releases heard when it was sent.
interface FirstTry {
  head: Waiter<RedisPermit, undefined>;
  result: TryResult;
  releases: number;
}

// What every permit of one semaphore shares (one object per semaphore).
interface Shared {
  readonly redis: RedisAdapter;
  readonly key: string;
  readonly holders: string;
  readonly leaseUs: string;
  readonly release: (id: string) => Promise<void>;
  // One renewal timer for all the permits of the semaphore held in this process.
  readonly renewals: Renewals;
}

// A permit is its own lease (one object per permit, no closures): it renews itself with
// RENEW in the background until released.
class Permit extends Lease implements RedisPermit {
  readonly token: number;
  readonly #shared: Shared;
  readonly #id: string;
  #released = false;

  constructor(token: number, shared: Shared, id: string, ms: number, sentAt: number) {
    super('', ms, sentAt, undefined, shared.renewals);
    this.token = token;
    this.#shared = shared;
    this.#id = id;
  }

  protected override renew(): Promise<boolean> {
    const s = this.#shared;
    return RENEW.run(s.redis, [s.holders], [s.leaseUs, this.#id]).then((n) => int(n) === 1);
  }

  protected override describe(): string {
    return `permit ${this.token} of \`${this.#shared.key}\``;
  }

  get released(): boolean {
    return this.#released;
  }

  release(): Promise<void> {
    if (this.#released) return Promise.reject(new TypeError('This permit was already released'));
    this.#released = true;
    stopLease(this);
    return this.#shared.release(this.#id);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#released ? Promise.resolve() : this.release();
  }
}

/**
 * A semaphore shared by every process that uses the same Redis `key`: at most `permits`
 * holders at once, across processes and machines. The same shape as `@weft/core`'s
 * `Semaphore`, with what distribution needs on top: each permit has a lease renewed in
 * the background, a fencing token, and a `signal` that aborts when the lease is lost.
 *
 * Waiting: within a process, FIFO, and only the head asks Redis. It wakes when any process
 * releases a permit (pub/sub) or, as a fallback, when the earliest lease expires (a holder
 * that died without releasing), plus a few ms of jitter: no polling. The wake-up costs
 * only the contended path: a refused waiter marks the semaphore in Redis (in the same
 * script that refused it), and a release publishes only when its `ZREM` removed that mark;
 * an uncontended release is one `ZREM`. Across processes there
 * is no ordering. A waiter cancelled before the grant leaves the queue and holds nothing;
 * a grant that races with the cancellation is released at once.
 *
 * A grant whose reply comes a third of `lease` or more after its command was sent (an
 * outage during which it waited in the client's offline queue, a busy Redis) may have
 * (nearly) expired by the rule that a lease counts from when its command was sent:
 * `acquire()` renews it before resolving, and the permit's lease counts from that
 * renewal; if Redis no longer holds it, `acquire()` asks again. `tryAcquire()` renews
 * it once only: when that reply is late too, it releases the grant and gives `undefined`.
 *
 * Guarantees and their limits: the count is exact while Redis keeps its data; a Redis
 * restart without persistence forgets the holders (over-admission until they release),
 * and their permits' signals abort at their next renewal. A lease is only as good as the
 * holder's knowledge of time: use `token` for fencing wherever a stale holder could do
 * harm.
 *
 * Each instance opens one subscriber connection when it first has to wait; `close()` (or
 * `await using`) closes it.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { RedisSemaphore } from '@weft/redis';
 *
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * await using db = new RedisSemaphore({ client, key: 'db-connections', permits: 50, lease: 10_000 });
 * {
 *   await using permit = await db.acquire();
 *   await query('SELECT 1', { signal: permit.signal, fencingToken: permit.token });
 * }
 * ```
 */
export class RedisSemaphore implements SemaphoreLike, AsyncDisposable {
  readonly #redis: RedisAdapter;
  readonly #key: string;
  readonly #permits: number;
  readonly #lease: number;
  readonly #waiters: WaitList<RedisPermit, undefined>;
  // The running head-of-line loop, if any (close() waits for it).
  #pumping: Promise<void> | undefined;
  // Cuts the head's sleep short (a release here or elsewhere, or nobody waits any more).
  #wake: (() => void) | undefined;
  // Counts releases heard (here or through pub/sub): a release that lands while the head's
  // script is in flight must not be missed by the sleep that follows it.
  #releases = 0;
  // The subscriber connection (opened on first contention) and whether it is ready.
  #subscriber: Promise<RedisAdapter> | undefined;
  // False once SUBSCRIBE was refused (NOPERM): waits then poll every POLL_MS.
  #pubsub = true;
  #closed = false;
  // Aborts when close() is called: a subscriber connection still being opened gives up.
  readonly #closing = new AbortController();
  // The semaphore's sorted set (holders, fence, waiting markers) and where releases are
  // announced (named like a key, in the same slot).
  readonly #holders: string;
  readonly #channel: string;
  // `permits` and the lease in µs as strings (ACQUIRE's arguments), and what every permit
  // of this semaphore shares.
  readonly #permitsText: string;
  readonly #leaseUs: string;
  readonly #shared: Shared;

  /** Throws a `TypeError`/`RangeError` for an invalid option. */
  constructor(options: RedisSemaphoreOptions) {
    assertOptions('options', options, SEM_KEYS);
    if (options === undefined)
      throw new TypeError('Expected `options` to be an object, got `undefined` (undefined)');
    this.#redis = toRedisAdapter(options.client);
    assertPrimitiveKey('key', options.key);
    assertInteger('permits', options.permits);
    const lease = options.lease ?? 30_000;
    assertMs('lease', lease, 3, MAX_TIMER_MS);
    this.#key = options.key;
    this.#permits = options.permits;
    this.#lease = lease;
    const k = tag(this.#key);
    this.#holders = `${k}:sem`;
    this.#channel = `${k}:sem:free`;
    this.#leaseUs = String(lease * 1000);
    this.#permitsText = String(this.#permits);
    this.#shared = {
      redis: this.#redis,
      key: this.#key,
      holders: this.#holders,
      leaseUs: this.#leaseUs,
      release: (id) => this.#release(id),
      renewals: new Renewals(),
    };
    this.#waiters = new WaitList(() => {
      if (this.#waiters.size === 0) this.#wake?.();
    });
  }

  /** The shared key. */
  get key(): string {
    return this.#key;
  }

  /** How many permits exist across all processes. */
  get permits(): number {
    return this.#permits;
  }

  /** The lease length in ms. */
  get lease(): number {
    return this.#lease;
  }

  /** How many calls of this process wait. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Waits for a permit. Rejects with the signal's reason when cancelled (holding nothing),
   * with {@link RedisCommandError} when Redis fails, with {@link ClosedError} after
   * `close()`.
   *
   * @example
   * ```ts
   * await using permit = await sem.acquire({ signal: AbortSignal.timeout(5000) });
   * ```
   */
  acquire(options?: RedisAcquireOptions): Promise<RedisPermit> {
    if (this.#closed)
      return Promise.reject(new ClosedError(`The semaphore \`${this.#key}\` is closed`));
    let added: { promise: Promise<RedisPermit> };
    try {
      added = this.#waiters.add('options', options, ACQUIRE_KEYS, undefined);
    } catch (err) {
      // Bad options reject, as with `@weft/core`'s Semaphore.
      return Promise.reject(err);
    }
    this.#kick();
    return added.promise;
  }

  /**
   * Takes a permit if one is free now, without waiting; `undefined` otherwise (also while
   * calls of this process wait, which go first).
   *
   * @example
   * ```ts
   * const permit = await sem.tryAcquire();
   * if (permit === undefined) return new Response('busy', { status: 503 });
   * ```
   */
  async tryAcquire(): Promise<RedisPermit | undefined> {
    if (this.#closed) throw new ClosedError(`The semaphore \`${this.#key}\` is closed`);
    if (this.#waiters.size > 0) return undefined;
    let result: TryResult | undefined = await this.#try(false);
    if (result instanceof LateGrant) result = await this.#confirm(result);
    return result instanceof Permit ? result : undefined;
  }

  /**
   * Acquires a permit, runs `fn({ signal, permit })`, and releases the permit however `fn`
   * ends. `signal` aborts when the caller's effective signal aborts (the enclosing task's,
   * plus `options.signal`) or when the permit's lease is lost (`LeaseLostError`): pass it
   * to the work. `fn`'s error wins over a release error, which is then attached to it
   * (`suppressedErrors(err)` from `@weft/core`). When `fn` succeeded, `run()` resolves
   * with its result even if the release fails (Redis went away meanwhile): the permit,
   * no longer renewed, then frees itself when its lease runs out.
   *
   * @example
   * ```ts
   * const rows = await sem.run(({ signal, permit }) =>
   *   db.query('UPDATE t SET x = 1', { signal, fencingToken: permit.token }),
   * );
   * ```
   */
  async run<T>(
    fn: (ctx: RedisRunContext) => T | PromiseLike<T>,
    options?: RedisAcquireOptions,
  ): Promise<T> {
    assertFunction('fn', fn);
    assertOptions('options', options, ACQUIRE_KEYS);
    using ctx = callerContext({ signal: options?.signal });
    const permit = await this.acquire({ signal: ctx.signal });
    const joined = joinSignals(ctx.signal, permit.signal);
    let result: T;
    try {
      result = await fn({ signal: joined.signal, permit });
    } catch (err) {
      joined.dispose();
      let primary = err;
      await permit.release().catch((releaseError: unknown) => {
        primary = attachSuppressed(err, releaseError);
      });
      throw primary;
    }
    joined.dispose();
    // fn succeeded: its result is the caller's whatever the release does. A release that
    // fails (Redis went away meanwhile) leaves the permit to free itself when its lease
    // runs out (it is no longer renewed), as a holder that died does.
    await permit.release().catch(() => {});
    return result;
  }

  /**
   * Rejects waiting calls with {@link ClosedError} and closes the subscriber connection.
   * Permits already held stay valid until released. A grant in flight for a waiter that is
   * gone is released, and the subscriber connection closed, before `close()` returns; if
   * Redis does not answer within one `lease` (an outage), `close()` returns anyway, and
   * what is still pending finishes in the background (a late grant is released, else it
   * expires with its lease; a connection that opens late is closed).
   *
   * @example
   * ```ts
   * await sem.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiters.failAll(new ClosedError(`The semaphore \`${this.#key}\` was closed`));
    this.#wake?.();
    this.#closing.abort(new ClosedError(`The semaphore \`${this.#key}\` was closed`));
    // A grant in flight for a waiter that is gone is released, and the subscriber closed,
    // before close() returns, as long as Redis answers within a lease (after that, a grant
    // it made has expired): an outage must not hang close(). What is still pending then
    // finishes in the background (a late grant is released, a late connection closed).
    let bound: ReturnType<typeof setTimeout> | undefined;
    let deadline: Promise<void> | undefined;
    const within = (work: Promise<unknown>): Promise<unknown> => {
      deadline ??= new Promise<void>((resolve) => {
        bound = setTimeout(resolve, this.#lease);
      });
      return Promise.race([work, deadline]);
    };
    try {
      if (this.#pumping !== undefined) await within(this.#pumping);
      const sub = this.#subscriber;
      this.#subscriber = undefined;
      if (sub !== undefined) {
        // A connection that opens after this is closed by #subscribe itself.
        let failure: { error: unknown } | undefined;
        const closing = sub
          .then(
            (conn) => conn.close(),
            () => {},
          )
          .catch((error: unknown) => {
            failure = { error };
          });
        await within(closing);
        if (failure !== undefined) throw failure.error;
      }
    } finally {
      clearTimeout(bound);
    }
  }

  /** Same as {@link RedisSemaphore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // `wait`: the caller sleeps until a release when refused (then the script marks the
  // semaphore as waited on, so that releases publish).
  // ACQUIRE's arguments for a new permit id. `wait`: the caller sleeps until a release when
  // refused (then the script marks the semaphore as waited on, so that releases publish).
  #acquireArgs(id: string, wait: boolean): string[] {
    return [
      'EVALSHA',
      ACQUIRE.sha,
      '1',
      this.#holders,
      this.#permitsText,
      this.#leaseUs,
      id,
      wait ? '1' : '0',
    ];
  }

  // ACQUIRE's reply: the permit granted, or the ms to sleep. Throws on a reply that is not
  // an integer.
  #result(reply: unknown, id: string, sentAt: number): TryResult {
    const token = int(reply);
    if (token <= 0) return Math.ceil(-token / 1000);
    if (performance.now() - sentAt >= this.#lease / 3) return new LateGrant(token, id);
    return new Permit(token, this.#shared, id, this.#lease, sentAt);
  }

  // Confirms a grant whose reply came late (review D1): RENEW, sent now, extends its lease
  // to a full one; the permit counts from when that RENEW was sent. `undefined` when Redis
  // no longer holds it (it expired before the RENEW ran: the caller asks again) or when
  // `head`, the waiter it is for, is gone (then it is released). A RENEW that is late too
  // is sent again. A failed RENEW rejects (RedisCommandError); the grant is then released
  // if Redis can be reached, else it expires with its lease.
  // `tryAcquire` (no `head`, no signal to stop it) sends one RENEW only: a late one too
  // releases the grant and gives `undefined`, so a slow Redis cannot hold it in a loop.
  async #confirm(
    late: LateGrant,
    head?: Waiter<RedisPermit, undefined>,
  ): Promise<Permit | undefined> {
    for (let renewals = 0; ; renewals++) {
      if (
        this.#closed ||
        (head !== undefined && head.settled) ||
        (head === undefined && renewals > 0)
      ) {
        await this.#release(late.id).catch(() => {});
        return undefined;
      }
      const sentAt = performance.now();
      let held: boolean;
      try {
        held = int(await RENEW.run(this.#redis, [this.#holders], [this.#leaseUs, late.id])) === 1;
      } catch (err) {
        void this.#release(late.id).catch(() => {});
        throw err;
      }
      if (!held) return undefined;
      if (performance.now() - sentAt < this.#lease / 3) {
        return new Permit(late.token, this.#shared, late.id, this.#lease, sentAt);
      }
    }
  }

  #try(wait: boolean): Promise<TryResult> {
    const id = newId();
    const sentAt = performance.now();
    const evalsha = this.#acquireArgs(id, wait);
    return ACQUIRE.call(this.#redis, { evalsha, key: this.#holders }).then((reply) =>
      this.#result(reply, id, sentAt),
    );
  }

  // Gives a permit back: one ZREM of the holder and the waiting markers. When the markers
  // were there (a count of 2 or 3), some process may wait: PUBLISH wakes them. That second
  // round trip is the contended path's; a failure of it leaves the waiters to their
  // fallback timer (the permit is free either way).
  #release(id: string): Promise<void> {
    return send(this.#redis, ['ZREM', this.#holders, id, '~wait', '~wait2'], this.#holders).then(
      (removed) => {
        if (int(removed) < 2) return this.#released();
        return command(this.#redis, ['PUBLISH', this.#channel, '1'], this.#holders).then(
          () => this.#released(),
          () => this.#released(),
        );
      },
      (err: unknown) => {
        throw new RedisCommandError('ZREM', err);
      },
    );
  }

  // Starts serving the head of the queue unless that already runs. The first script call
  // is a plain promise chain, one `then` on the client's promise (the common case, a
  // grant, settles there: no loop, no `async` frames); a refusal, a grant for a waiter
  // cancelled meanwhile or an error goes on in the loop (#pump). Either way `#pumping` is
  // set before it can be cleared, and it never rejects: every failure is meant to reach a
  // waiter, and an unexpected one must not be lost either.
  #kick(): void {
    if (this.#pumping !== undefined || this.#closed) return;
    const head = this.#waiters.head;
    if (head === undefined) return;
    const releases = this.#releases;
    const id = newId();
    const sentAt = performance.now();
    const evalsha = this.#acquireArgs(id, true);
    const fail = (err: unknown): undefined => {
      head.fail(err);
      this.#next();
      return undefined;
    };
    const onReply = (reply: unknown): Promise<void> | undefined => {
      let result: TryResult;
      try {
        result = this.#result(reply, id, sentAt);
      } catch (err) {
        return fail(err);
      }
      if (result instanceof Permit && !head.settled) {
        head.fulfil(result);
        this.#next();
        return undefined;
      }
      return this.#pump({ head, result, releases });
    };
    this.#pumping = send(this.#redis, evalsha, this.#holders).then(onReply, (err: unknown) =>
      ACQUIRE.retry(this.#redis, evalsha, this.#holders, err).then(onReply, fail),
    );
  }

  // The pump is done: the next waiter, if any, starts another.
  #next(): void {
    this.#pumping = undefined;
    if (this.#waiters.size > 0) this.#kick();
  }

  async #pump(first: FirstTry): Promise<void> {
    try {
      await this.#serve(first);
    } catch (err) {
      this.#waiters.failAll(err);
    }
    this.#next();
  }

  // `first`: the script call #kick made, handled here before any other.
  async #serve(first: FirstTry | undefined): Promise<void> {
    while (first !== undefined || !this.#closed) {
      let head: Waiter<RedisPermit, undefined>;
      let releases: number;
      let result: TryResult;
      if (first !== undefined) {
        ({ head, result, releases } = first);
        first = undefined;
      } else {
        const next = this.#waiters.head;
        if (next === undefined) return;
        head = next;
        releases = this.#releases;
        try {
          result = await this.#try(true);
        } catch (err) {
          head.fail(err);
          continue;
        }
      }
      if (result instanceof LateGrant) {
        let confirmed: Permit | undefined;
        try {
          confirmed = await this.#confirm(result, head);
        } catch (err) {
          head.fail(err);
          continue;
        }
        // Gone (expired before it was confirmed), or its waiter is: serve the head again.
        if (confirmed === undefined) continue;
        result = confirmed;
      }
      if (typeof result !== 'number') {
        if (!head.settled) head.fulfil(result);
        else await result.release().catch(() => {});
        continue;
      }
      if (head.settled || this.#closed) continue;
      if (this.#subscriber === undefined && this.#pubsub) {
        // Subscribe before sleeping, then ask again: a release between the refusal and
        // the subscription would otherwise go unheard until the fallback timer.
        try {
          await this.#subscribe();
        } catch (err) {
          // An ACL user without channel rights (NOPERM): wake-ups are best effort, so
          // this instance polls instead of failing its waiters.
          if (isNoPermission(err)) this.#pubsub = false;
          else head.fail(err);
        }
        continue;
      }
      if (releases !== this.#releases) continue;
      const waitMs = this.#pubsub ? result : Math.min(result, POLL_MS);
      await new Promise<void>((resolve) => {
        const cancel = timer(waitMs + jitter(waitMs), () => {
          this.#wake = undefined;
          resolve();
        });
        this.#wake = () => {
          this.#wake = undefined;
          cancel();
          resolve();
        };
      });
    }
  }

  #released(): void {
    this.#releases += 1;
    this.#wake?.();
  }

  #subscribe(): Promise<RedisAdapter> {
    const channel = this.#channel;
    const sub = (async () => {
      let conn: RedisAdapter;
      try {
        conn = await this.#redis.duplicate(channel, this.#closing.signal);
      } catch (err) {
        if (this.#closed) throw new ClosedError(`The semaphore \`${this.#key}\` was closed`);
        throw new RedisCommandError('connect (subscriber)', err);
      }
      if (this.#closed) {
        await conn.close();
        throw new ClosedError(`The semaphore \`${this.#key}\` was closed`);
      }
      try {
        await conn.subscribe(channel, () => this.#released());
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
