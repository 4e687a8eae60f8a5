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
  async run(
    redis: RedisAdapter,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    const argv = [String(keys.length), ...keys, ...args.map(String)];
    try {
      try {
        return await redis.send(['EVALSHA', this.sha, ...argv], keys[0]);
      } catch (err) {
        if (!isNoScript(err)) throw err;
        return await redis.send(['EVAL', this.source, ...argv], keys[0]);
      }
    } catch (err) {
      throw new RedisCommandError(`script ${this.name}`, err);
    }
  }
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/**
 * Sends a command; any failure becomes a {@link RedisCommandError}. `key`: the key the
 * command is about, for routing in a cluster (a keyless command such as CLIENT UNBLOCK
 * goes to the node holding it).
 */
export async function command(
  redis: RedisAdapter,
  args: readonly string[],
  key?: string,
): Promise<unknown> {
  try {
    return await redis.send(args, key);
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
