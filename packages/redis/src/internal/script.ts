import { createHash } from 'node:crypto';
import type { RedisAdapter } from '../client.ts';
import { RedisCommandError } from '../errors.ts';

/**
 * A Lua script, run with EVALSHA on the SHA1 of its source; when the server does not have
 * it (first use, a restart, another cluster node), with EVAL, which also caches it there.
 * No SCRIPT LOAD: it goes to no particular node of a cluster, EVAL goes where the keys are.
 */
export class Script {
  readonly source: string;
  readonly name: string;
  readonly sha: string;

  constructor(name: string, source: string) {
    this.name = name;
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script; any failure becomes a {@link RedisCommandError}. */
  run(
    redis: RedisAdapter,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    return this.call(redis, this.prepare(keys, args));
  }

  /**
   * Builds the command of one call once, for a call that repeats with the same keys and
   * arguments (what {@link Script.call} sends).
   */
  prepare(keys: readonly string[], args: readonly (string | number)[]): ScriptCall {
    const evalsha = ['EVALSHA', this.sha, String(keys.length), ...keys];
    for (const a of args) evalsha.push(String(a));
    return { evalsha, key: keys[0] };
  }

  /**
   * Runs a prepared call; any failure becomes a {@link RedisCommandError}. A promise chain
   * rather than an `async` function: this is every operation's hot path.
   */
  call(redis: RedisAdapter, prepared: ScriptCall): Promise<unknown> {
    return send(redis, prepared.evalsha, prepared.key).then(undefined, (err: unknown) =>
      this.retry(redis, prepared.evalsha, prepared.key, err),
    );
  }

  /**
   * What to do when `send(redis, evalsha, key)` of this script rejected with `err`: when
   * the server does not have the script (NOSCRIPT), run it with EVAL (which also caches
   * it); otherwise reject with a {@link RedisCommandError}. For a caller that handles the
   * EVALSHA reply in the same `then` (one promise less per call).
   */
  retry(
    redis: RedisAdapter,
    evalsha: readonly string[],
    key: string | undefined,
    err: unknown,
  ): Promise<unknown> {
    if (!isNoScript(err)) return Promise.reject(new RedisCommandError(`script ${this.name}`, err));
    return send(redis, ['EVAL', this.source, ...evalsha.slice(2)], key).then(
      undefined,
      (evalError: unknown) => {
        throw new RedisCommandError(`script ${this.name}`, evalError);
      },
    );
  }
}

/**
 * `redis.send` as a native promise (an adapter may return another thenable), with a
 * synchronous throw (an adapter's bug) turned into a rejection. Errors stay as the client
 * gave them (see {@link command} and {@link Script.retry} for the wrapping).
 */
export function send(
  redis: RedisAdapter,
  args: readonly string[],
  key: string | undefined,
): Promise<unknown> {
  try {
    return Promise.resolve(redis.send(args, key));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** One call of a {@link Script}, built by {@link Script.prepare}; never mutated. */
export interface ScriptCall {
  readonly evalsha: readonly string[];
  readonly key: string | undefined;
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/**
 * Sends a command; any failure becomes a {@link RedisCommandError}. `key`: the key the
 * command is about, for routing in a cluster (a keyless command such as CLIENT UNBLOCK
 * goes to the node holding it).
 */
export function command(
  redis: RedisAdapter,
  args: readonly string[],
  key?: string,
): Promise<unknown> {
  return send(redis, args, key).then(undefined, (err: unknown) => {
    throw new RedisCommandError(args[0] ?? 'command', err);
  });
}

/**
 * The Lua prelude of the scripts that need the server's time: `stamp`, the time in
 * microseconds as a 16-digit decimal string (until the year 2286), built by concatenation
 * because Redis's Lua turns numbers into strings with `sprintf`, which costs as much as a
 * Redis command. A script that needs it as a number reads `tonumber(stamp)` (exact: below
 * 2^53 until the year 2255).
 */
export const STAMP: string = `local t = redis.call('TIME')
local u = t[2]
if #u < 6 then u = string.rep('0', 6 - #u) .. u end
local stamp = t[1] .. u
`;

/** {@link STAMP}, then `now`: the same time as a number. */
export const NOW_US: string = `${STAMP}local now = tonumber(stamp)
`;

/** `{key}`: every key of one primitive shares this hash tag, so Redis Cluster works. */
export function tag(key: string): string {
  return `{${key}}`;
}

/**
 * Reads an integer reply that a client may give as a number, bigint or string, or (a
 * script's string reply, from an adapter that returns bulk strings as bytes) a
 * `Uint8Array` of its digits.
 */
export function int(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'string') return Number(value);
  if (value instanceof Uint8Array) return Number(decoder.decode(value));
  throw new TypeError(`unexpected reply ${String(value)}`);
}

const decoder = new TextDecoder();

/**
 * Whether `err` (or a cause of it) is Redis refusing a command for lack of ACL rights
 * (`NOPERM`): a SUBSCRIBE by a user without channel permissions, say.
 */
export function isNoPermission(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && message.includes('NOPERM')) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * How often a wait looks again when it cannot hear wake-ups (pub/sub refused by an ACL),
 * in ms.
 */
export const POLL_MS = 200;
