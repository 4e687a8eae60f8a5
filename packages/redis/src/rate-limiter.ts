import {
  type AsyncPermit,
  callerContext,
  type RateAcquireOptions,
  type RateLimiterLike,
  type RunFn,
  TimeoutError,
} from '@weft/core';
import { type RedisAdapter, toRedisAdapter } from './client.ts';
import { int, NOW_US, Script, type ScriptCall, STAMP, send, tag } from './internal/script.ts';
import {
  assertFunction,
  assertInteger,
  assertPrimitiveKey,
  assertMs,
  assertOptions,
  describe,
} from './internal/validate.ts';
import { joinSignals } from './internal/signals.ts';
import { jitter, timer, type Waiter, WaitList } from './internal/waiters.ts';

/** Options of {@link RedisRateLimiter}. */
export interface RedisRateLimiterOptions {
  /** A node-redis client, an ioredis client or a {@link RedisAdapter}. Used as it is. */
  client: unknown;
  /**
   * The name of the shared limit: every process using the same key shares it.
   * Non-empty, and not starting with `}` (a `RangeError`): its keys are `{key}:…`, and
   * the hash tag must not be empty for Redis Cluster to keep them in one slot.
   */
  key: string;
  /** How many units of cost are let through per `interval`, across all processes. */
  limit: number;
  /** The window `limit` applies to, in whole milliseconds. */
  interval: number;
  /**
   * Switches to a token bucket of this size: up to `burst` at once after a quiet period,
   * refilled at `limit` per `interval`. Default: none, the strict sliding window.
   * @default undefined
   */
  burst?: number | undefined;
}

/**
 * Options of {@link RedisRateLimiter.acquire}: `@weft/core`'s `RateAcquireOptions`
 * (`signal`, which adds to the enclosing task's; `cost`, default 1, at most `limit` or
 * `burst`).
 */
export type RedisRateAcquireOptions = RateAcquireOptions;

/**
 * What {@link RedisRateLimiter.acquire} resolves with: a record that the cost went
 * through, and when. Releasing it gives nothing back (time does); it exists so that rate
 * limiters and semaphores share one shape (`@weft/core`'s `RateLimiterLike`).
 *
 * @example
 * ```ts
 * const { grantedAt } = await limiter.acquire();
 * console.log('let through at', new Date(grantedAt).toISOString(), '(Redis server time)');
 * ```
 */
export interface RedisRatePermit extends AsyncPermit, Disposable {
  /**
   * When the grant was recorded, on the Redis server's clock: ms since the Unix epoch,
   * with microseconds as the fraction. The window is measured in this time.
   */
  readonly grantedAt: number;
  /** Marks it released (gives nothing back). Calling it twice throws a `TypeError`. */
  release(): void;
}

class RatePass implements RedisRatePermit {
  readonly grantedAt: number;
  #released = false;

  constructor(grantedAt: number) {
    this.grantedAt = grantedAt;
  }

  get released(): boolean {
    return this.#released;
  }

  release(): void {
    if (this.#released) throw new TypeError('This permit was already released');
    this.#released = true;
  }

  [Symbol.dispose](): void {
    this.#released = true;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.#released = true;
    return Promise.resolve();
  }
}

const LIMITER_KEYS = ['client', 'key', 'limit', 'interval', 'burst'] as const;
const ACQUIRE_KEYS = ['signal', 'cost'] as const;

// Strict sliding window: one list of grant times (server µs), one entry per unit of cost,
// pushed in time order, so the cost inside the window is the list's length. Entries that
// left the window are trimmed from the head when they could matter (the count would pass
// `limit`: all of them) and, to bound memory, whenever the count crosses a multiple of 64
// (whole batches of 64, when the 64th left the window: fewer than 64 stay behind): counted
// meanwhile they only overestimate, never admit more. Trimming reads what it removes and
// stops at the first entry still inside the window, so were the server's clock to go back
// (the list out of order) it again only overestimates.
// ARGV: limit, cost, the list's time to live in ms (the interval in ms, plus 1). Replies
// with the server time in µs when granted (the number pushed), else minus the µs until
// enough units leave the window (one value: less to build and parse). Replies are Lua
// numbers, so integer replies: a client reads `:n` for far less CPU than a bulk string
// (measured: about 4 µs per call with ioredis), and Redis writes it as cheaply.
//
// The common case (cost 1, no trimming due, room left) pushes first and learns the count
// from RPUSH's reply: TIME, RPUSH, PEXPIRE, and the reply is the pushed time itself.
// Otherwise the general path decides exactly as if that push had not happened (it sits at
// the tail, newer than anything trimmed) and takes it back on a refusal (the script is
// atomic: nobody sees it).
const SLIDING = new Script(
  'rate-limit (sliding window)',
  `${STAMP}
local key = KEYS[1]
local single = ARGV[2] == '1'
local used
if single then
  used = redis.call('RPUSH', key, stamp)
  if used % 64 ~= 0 and used <= tonumber(ARGV[1]) then
    redis.call('PEXPIRE', key, ARGV[3])
    -- The same number as stamp: two short numbers are cheaper to parse than its 16 digits.
    return t[1] * 1000000 + t[2]
  end
  used = used - 1
else
  used = redis.call('LLEN', key)
end
-- From here, used leaves out the push above, if any.
local now, limit, cost = t[1] * 1000000 + t[2], tonumber(ARGV[1]), tonumber(ARGV[2])
local interval = (tonumber(ARGV[3]) - 1) * 1000
local exact = used + cost > limit
if exact or math.floor((used + cost) / 64) ~= math.floor(used / 64) then
  local edge = now - interval
  while used > 0 do
    -- Only for memory: trim whole batches of 64, found by a look at the 64th.
    if not exact then
      local last = redis.call('LINDEX', key, 63)
      if not last or tonumber(last) > edge then break end
    end
    local batch = redis.call('LRANGE', key, 0, 63)
    local gone = 0
    for i = 1, math.min(#batch, used) do
      if tonumber(batch[i]) > edge then break end
      gone = i
    end
    if gone > 0 then
      redis.call('LTRIM', key, gone, -1)
      used = used - gone
    end
    if gone < #batch or gone == 0 then break end
  end
end
if used + cost <= limit then
  if not single then
    local args = {}
    for i = 1, cost do
      args[#args + 1] = stamp
      if #args == 1000 or i == cost then
        redis.call('RPUSH', key, unpack(args))
        args = {}
      end
    end
  end
  redis.call('PEXPIRE', key, ARGV[3])
  return now
end
if single then redis.call('RPOP', key) end
local oldest = redis.call('LINDEX', key, used + cost - limit - 1)
if not oldest then return -interval end
return -math.max(1, tonumber(oldest) + interval - now + 1)
`,
);

// Takes back a sliding-window grant that arrived for a waiter cancelled meanwhile, when no
// other waiter of the process could use it: removes `cost` entries of its time, from the
// tail (nothing happens for those that already left the window and were trimmed; another
// grant of the very same microsecond would be the same thing). ARGV: time µs, cost.
const UNDO_SLIDING = new Script(
  'rate-limit (give back, sliding window)',
  `return redis.call('LREM', KEYS[1], -tonumber(ARGV[2]), ARGV[1])
`,
);

// Takes back a token-bucket grant nobody can use: the tokens go back, capped at `burst`.
const UNDO_BUCKET = new Script(
  'rate-limit (give back, token bucket)',
  `local burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2])
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens'))
if tokens == nil then return 0 end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', math.min(burst, tokens + cost)))
return 1
`,
);

// Token bucket: `burst` tokens, refilled at limit/interval per µs, in one hash.
const BUCKET = new Script(
  'rate-limit (token bucket)',
  `${NOW_US}
local limit, interval, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local rate = limit / interval
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate) end
if tokens >= cost then
  tokens = tokens - cost
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', stamp)
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate / 1000) + 1)
  return now
end
return -math.max(1, math.ceil((cost - tokens) / rate))
`,
);

/**
 * A rate limit shared by every process that uses the same Redis `key`: the same shape
 * and semantics as `@weft/core`'s `RateLimiter`, with Redis as the single source of truth.
 * Each decision is one atomic Lua script on the server's clock (`TIME`), so the clocks of
 * the processes do not matter.
 *
 * - Strict by default: at most `limit` units in any window of `interval`, across all
 *   processes (a sliding log, not fixed windows that let 2× through at a boundary).
 * - With `burst`: a token bucket of `burst` tokens refilled at `limit` per `interval`.
 *
 * Within a process, callers are served in FIFO order and only the head asks Redis: while
 * it waits, one timer per process per key sleeps until the time the script returned (plus
 * a few ms of jitter), so there is no polling storm. A cancelled waiter leaves the queue
 * and uses nothing: when its script had already run, the grant goes to the next waiter of
 * the process it fits, or is given back to Redis by a second script (if that script fails,
 * the grant stays counted until it leaves the window). Across processes there is no ordering: whichever
 * script runs first wins.
 *
 * Inside a weft task, waits take the task's signal, and a wait that could only end after
 * the enclosing deadline fails at once with `TimeoutError`. A Redis failure rejects the
 * waiting call with {@link RedisCommandError}.
 *
 * Limits of the guarantee: a Redis restart without persistence forgets the window and can
 * admit up to `limit` again at once; a failover to a replica that missed the last writes
 * can do the same.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { RedisRateLimiter } from '@weft/redis';
 *
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * const limiter = new RedisRateLimiter({ client, key: 'github-api', limit: 100, interval: 1000 });
 * await limiter.run(() => fetch('https://api.github.com/rate_limit'));
 * ```
 */
export class RedisRateLimiter implements RateLimiterLike {
  readonly #redis: RedisAdapter;
  readonly #key: string;
  readonly #limit: number;
  readonly #interval: number;
  readonly #burst: number | undefined;
  // The sliding window's list of grant times, or the token bucket's hash.
  readonly #log: string;
  readonly #bucket: string;
  readonly #waiters: WaitList<RedisRatePermit, number>;
  // Whether the head-of-line loop is running, and how to cut its sleep short.
  #pumping = false;
  #wake: (() => void) | undefined;
  // The call for cost 1 (sliding window or token bucket), built once (the common call).
  #single: { script: Script; prepared: ScriptCall } | undefined;

  /** Throws a `TypeError`/`RangeError` for an invalid option. */
  constructor(options: RedisRateLimiterOptions) {
    assertOptions('options', options, LIMITER_KEYS);
    if (options === undefined)
      throw new TypeError('Expected `options` to be an object, got `undefined` (undefined)');
    this.#redis = toRedisAdapter(options.client);
    assertPrimitiveKey('key', options.key);
    assertInteger('limit', options.limit);
    assertMs('interval', options.interval);
    if (options.burst !== undefined) assertInteger('burst', options.burst);
    this.#key = options.key;
    this.#limit = options.limit;
    this.#interval = options.interval;
    this.#burst = options.burst;
    this.#log = `${tag(this.#key)}:rl:times`;
    this.#bucket = `${tag(this.#key)}:rl:bucket`;
    this.#waiters = new WaitList(() => {
      if (this.#waiters.size === 0) this.#wake?.();
    });
  }

  /** The shared key. */
  get key(): string {
    return this.#key;
  }

  /** Units per `interval`. */
  get limit(): number {
    return this.#limit;
  }

  /** The window, in ms. */
  get interval(): number {
    return this.#interval;
  }

  /** The token bucket's size, or `undefined` for the strict sliding window. */
  get burst(): number | undefined {
    return this.#burst;
  }

  /** How many calls of this process wait. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Waits until `cost` units (default 1) may go through, then uses them, and resolves with
   * a permit that records it (releasing it gives nothing back). FIFO within the process.
   * Rejects with the signal's reason when cancelled (using nothing), with
   * `TimeoutError` when the wait would outlast the enclosing deadline, and with
   * {@link RedisCommandError} when Redis fails.
   *
   * @example
   * ```ts
   * await limiter.acquire({ cost: 2, signal: AbortSignal.timeout(5000) });
   * ```
   */
  acquire(options?: RedisRateAcquireOptions): Promise<RedisRatePermit> {
    let added: { promise: Promise<RedisRatePermit> };
    try {
      added = this.#waiters.add('options', options, ACQUIRE_KEYS, this.#cost(options));
    } catch (err) {
      // Bad options reject, as with `@weft/core`'s limiters.
      return Promise.reject(err);
    }
    this.#kick();
    return added.promise;
  }

  /**
   * Uses `cost` units if they are available now, without waiting: `true` if it did.
   * Waiters of this process go first: while any wait, this returns `false`.
   *
   * @example
   * ```ts
   * if (!(await limiter.tryAcquire())) return new Response('slow down', { status: 429 });
   * ```
   */
  async tryAcquire(options?: { cost?: number | undefined }): Promise<boolean> {
    assertOptions('options', options, ['cost']);
    const cost = this.#cost(options);
    if (this.#waiters.size > 0) return false;
    return (await this.#decide(cost)) > 0;
  }

  /**
   * Acquires (`options` as for {@link RedisRateLimiter.acquire}), then runs `fn({ signal })`
   * and returns its result. `signal` aborts with the caller's effective signal (the
   * enclosing task's, plus `options.signal`).
   *
   * @example
   * ```ts
   * const res = await limiter.run(({ signal }) => fetch('https://api.example.com/items', { signal }));
   * ```
   */
  async run<T>(fn: RunFn<T>, options?: RedisRateAcquireOptions): Promise<T> {
    assertFunction('fn', fn);
    assertOptions('options', options, ACQUIRE_KEYS);
    using ctx = callerContext({ signal: options?.signal });
    await this.acquire({ cost: options?.cost, signal: ctx.signal });
    const joined = joinSignals(ctx.signal);
    try {
      return await fn({ signal: joined.signal });
    } finally {
      joined.dispose();
    }
  }

  #cost(options: { cost?: number | undefined } | undefined): number {
    const cost = options?.cost ?? 1;
    assertInteger('options.cost', cost);
    const max = this.#burst ?? this.#limit;
    if (cost > max) {
      throw new RangeError(
        `Expected \`options.cost\` to be at most ${this.#burst === undefined ? '`limit`' : '`burst`'} (${max}), got ${describe(cost)}`,
      );
    }
    return cost;
  }

  // The script call deciding `cost` (the sliding window's call for cost 1 is built once).
  #call(cost: number): { script: Script; prepared: ScriptCall } {
    if (cost === 1 && this.#single !== undefined) return this.#single;
    const call =
      this.#burst === undefined
        ? {
            script: SLIDING,
            prepared: SLIDING.prepare([this.#log], [this.#limit, cost, this.#interval + 1]),
          }
        : {
            script: BUCKET,
            prepared: BUCKET.prepare(
              [this.#bucket],
              [this.#limit, this.#interval * 1000, this.#burst, cost],
            ),
          };
    if (cost === 1) this.#single = call;
    return call;
  }

  // Runs the script: the grant's time in µs (server clock) when granted, else minus the µs
  // to wait (never 0).
  #decide(cost: number): Promise<number> {
    const { script, prepared } = this.#call(cost);
    return script.call(this.#redis, prepared).then(int);
  }

  // Starts serving the head of the queue unless that already runs. The first script call
  // is one `then` on the client's promise (the common case, a grant, settles there: no
  // loop, no `async` frames); a refusal, a grant for a waiter cancelled meanwhile or an
  // error goes on in the loop (#pump). Never rejects: every failure is meant to reach a
  // waiter, and an unexpected one must not be lost either.
  #kick(): void {
    if (this.#pumping) return;
    const head = this.#waiters.head;
    if (head === undefined) return;
    this.#pumping = true;
    const { script, prepared } = this.#call(head.data);
    const fail = (err: unknown): undefined => {
      head.fail(err);
      this.#next();
      return undefined;
    };
    const onReply = (reply: unknown): Promise<void> | undefined => {
      let n: number;
      try {
        n = int(reply);
      } catch (err) {
        return fail(err);
      }
      if (n > 0 && !head.settled) {
        head.fulfil(new RatePass(n / 1000));
        this.#next();
        return undefined;
      }
      return this.#pump({ head, n });
    };
    void send(this.#redis, prepared.evalsha, prepared.key).then(onReply, (err: unknown) =>
      script.retry(this.#redis, prepared.evalsha, prepared.key, err).then(onReply, fail),
    );
  }

  // The pump is done: the next waiter, if any, starts another.
  #next(): void {
    this.#pumping = false;
    if (this.#waiters.size > 0) this.#kick();
  }

  async #pump(first: { head: Waiter<RedisRatePermit, number>; n: number }): Promise<void> {
    try {
      await this.#serve(first);
    } catch (err) {
      this.#waiters.failAll(err);
    }
    this.#next();
  }

  // `first`: the script call #kick made, handled here before any other.
  async #serve(
    first: { head: Waiter<RedisRatePermit, number>; n: number } | undefined,
  ): Promise<void> {
    for (;;) {
      let head: Waiter<RedisRatePermit, number>;
      let n: number;
      if (first !== undefined) {
        ({ head, n } = first);
        first = undefined;
      } else {
        const next = this.#waiters.head;
        if (next === undefined) return;
        head = next;
        try {
          n = await this.#decide(head.data);
        } catch (err) {
          head.fail(err);
          continue;
        }
      }
      if (n > 0) {
        if (!head.settled) head.fulfil(new RatePass(n / 1000));
        else if (!this.#handOn(head.data, n / 1000)) await this.#giveBack(head.data, n);
        continue;
      }
      if (head.settled) continue;
      const waitMs = Math.ceil(-n / 1000);
      if (performance.now() + waitMs > head.deadline) {
        head.fail(
          new TimeoutError(
            `The rate limit \`${this.#key}\` frees capacity in ${waitMs} ms, after the enclosing deadline`,
          ),
        );
        continue;
      }
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

  // A grant that arrived for a waiter cancelled meanwhile goes to the first waiter whose
  // cost it covers (the window counts `cost` either way); `false` when none can use it.
  #handOn(cost: number, at: number): boolean {
    for (const w of this.#waiters) {
      if (w.data <= cost) {
        w.fulfil(new RatePass(at));
        return true;
      }
    }
    return false;
  }

  // Nobody in this process can use the grant: take it back, so a cancelled wait costs
  // nothing. A failure here is dropped on purpose: the grant then only expires with the
  // window, as if it had been used, and there is no caller left to tell.
  // `at`: the grant's time in µs, as the script pushed it (what a give-back removes).
  async #giveBack(cost: number, at: number): Promise<void> {
    try {
      if (this.#burst === undefined)
        await UNDO_SLIDING.run(this.#redis, [this.#log], [String(at), cost]);
      else await UNDO_BUCKET.run(this.#redis, [this.#bucket], [this.#burst, cost]);
    } catch {
      // See above: the grant stays counted until it leaves the window.
    }
  }
}
