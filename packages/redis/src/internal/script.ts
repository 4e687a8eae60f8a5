import type { RedisAdapter } from '../client.ts';
import { RedisCommandError } from '../errors.ts';

/** A Lua script, run with EVALSHA and loaded again when the server lost it (restart). */
export class Script {
  readonly source: string;
  readonly name: string;
  // The SHA1 the server gave back for this source, per adapter (one server each).
  readonly #shas = new WeakMap<RedisAdapter, string>();

  constructor(name: string, source: string) {
    this.name = name;
    this.source = source;
  }

  /** Runs the script; any failure becomes a {@link RedisCommandError}. */
  async run(
    redis: RedisAdapter,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    const argv = [String(keys.length), ...keys, ...args.map(String)];
    let sha = this.#shas.get(redis);
    try {
      if (sha === undefined) sha = await this.#load(redis);
      try {
        return await redis.send(['EVALSHA', sha, ...argv]);
      } catch (err) {
        if (!isNoScript(err)) throw err;
        sha = await this.#load(redis);
        return await redis.send(['EVALSHA', sha, ...argv]);
      }
    } catch (err) {
      throw new RedisCommandError(`script ${this.name}`, err);
    }
  }

  async #load(redis: RedisAdapter): Promise<string> {
    const sha = String(await redis.send(['SCRIPT', 'LOAD', this.source]));
    this.#shas.set(redis, sha);
    return sha;
  }
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/** Sends a command; any failure becomes a {@link RedisCommandError}. */
export async function command(redis: RedisAdapter, args: readonly string[]): Promise<unknown> {
  try {
    return await redis.send(args);
  } catch (err) {
    throw new RedisCommandError(args[0] ?? 'command', err);
  }
}

/** The Lua prelude every script starts with: `now`, the server's time in microseconds. */
export const NOW_US = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
`;

/** `{key}`: every key of one primitive shares this hash tag, so Redis Cluster works. */
export function tag(key: string): string {
  return `{${key}}`;
}

/** Reads an integer reply that a client may give as a number, bigint or string. */
export function int(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'string') return Number(value);
  throw new TypeError(`unexpected reply ${String(value)}`);
}
