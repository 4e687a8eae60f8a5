import { describe } from './internal/validate.ts';

/**
 * The few things `@weft/redis` needs from a Redis client. {@link toRedisAdapter} builds
 * one from a node-redis (`redis` 5 or 6) or ioredis client as they are; implement it
 * yourself to use another client.
 *
 * Replies may come back in RESP2 shape (arrays) or RESP3 shape (objects or `Map`s keyed by
 * stream name); `@weft/redis` reads both.
 *
 * @example
 * ```ts
 * import type { RedisAdapter } from '@weft/redis';
 *
 * const adapter: RedisAdapter = {
 *   send: (args) => myClient.command(args),
 *   duplicate: async () => wrap(await myClient.newConnection()),
 *   subscribe: (channel, onMessage) => myClient.subscribe(channel, onMessage),
 *   close: () => myClient.quit(),
 * };
 * ```
 */
export interface RedisAdapter {
  /** Sends one command (`['EVALSHA', sha, '1', key, …]`) and resolves with its reply. */
  send(args: readonly string[]): Promise<unknown>;
  /**
   * Opens a new connection to the same server, ready for commands: `@weft/redis` uses it
   * for blocking reads and subscriptions, and closes it with `close()`.
   */
  duplicate(): Promise<RedisAdapter>;
  /**
   * Subscribes this connection to `channel`; `onMessage` runs for every message. The
   * channel is named like a key and the scripts publish to it as a key: an adapter that
   * prefixes keys must prefix the channel the same way.
   */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  /** Closes this connection. Only called on connections made by `duplicate()`. */
  close(): Promise<void>;
}

/** What a node-redis client (`createClient()` of `redis` 5 or 6) offers. */
interface NodeRedisLike {
  sendCommand(args: readonly string[]): Promise<unknown>;
  duplicate(): NodeRedisLike;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  close?(): Promise<void>;
  quit?(): Promise<unknown>;
  destroy?(): void;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  readonly isOpen: boolean;
}

/** What an ioredis client (`new Redis()`) offers. */
interface IoRedisLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  duplicate(): IoRedisLike;
  subscribe(channel: string): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  connect(): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
  readonly status: string;
  readonly options?: { readonly keyPrefix?: string | undefined } | undefined;
}

function isAdapter(value: object): value is RedisAdapter {
  const v = value as Partial<RedisAdapter>;
  return (
    typeof v.send === 'function' &&
    typeof v.duplicate === 'function' &&
    typeof v.subscribe === 'function' &&
    typeof v.close === 'function'
  );
}

function isNodeRedis(value: object): value is NodeRedisLike {
  const v = value as Partial<NodeRedisLike>;
  return typeof v.sendCommand === 'function' && typeof v.duplicate === 'function';
}

function isIoRedis(value: object): value is IoRedisLike {
  const v = value as Partial<IoRedisLike>;
  return (
    typeof v.call === 'function' &&
    typeof v.duplicate === 'function' &&
    typeof v.status === 'string'
  );
}

/**
 * Wraps a client for `@weft/redis`: a node-redis client (`createClient()`, connected), an
 * ioredis client (`new Redis()`), or an object that already is a {@link RedisAdapter}
 * (returned as it is). The user's client is used as it is, never reconfigured or closed;
 * connections that `@weft/redis` opens itself (`duplicate()`) it also closes.
 *
 * Throws a `TypeError` for anything else.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { toRedisAdapter } from '@weft/redis';
 *
 * const client = await createClient({ url: 'redis://127.0.0.1:6379' }).connect();
 * const adapter = toRedisAdapter(client);
 * console.log(await adapter.send(['PING'])); // 'PONG'
 * ```
 */
export function toRedisAdapter(client: unknown): RedisAdapter {
  if (typeof client === 'object' && client !== null) {
    if (isAdapter(client)) return client;
    // ioredis also has a `sendCommand`, so it is recognised first (by `call` and `status`).
    if (isIoRedis(client)) return ioredisAdapter(client, false);
    if (isNodeRedis(client)) return nodeRedisAdapter(client, false);
  }
  throw new TypeError(
    `Expected \`client\` to be a node-redis client, an ioredis client or a RedisAdapter, got ${describe(client)}`,
  );
}

function nodeRedisAdapter(client: NodeRedisLike, owned: boolean): RedisAdapter {
  return {
    send: (args) => client.sendCommand(args),
    async duplicate() {
      const copy = client.duplicate();
      // An 'error' event without a listener would crash the process; the failure also
      // reaches the pending command, which is where it is reported.
      copy.on('error', () => {});
      await copy.connect();
      return nodeRedisAdapter(copy, true);
    },
    subscribe: (channel, onMessage) => client.subscribe(channel, (message) => onMessage(message)),
    async close() {
      if (!owned || !client.isOpen) return;
      if (typeof client.destroy === 'function') client.destroy();
      else if (typeof client.close === 'function') await client.close();
      else await client.quit?.();
    },
  };
}

function ioredisAdapter(client: IoRedisLike, owned: boolean): RedisAdapter {
  let listening: Map<string, (message: string) => void> | undefined;
  // ioredis puts `keyPrefix` before the keys of every command, the keys of scripts
  // included, but not before pub/sub channels: channels named like keys (the scripts
  // publish to one passed as a key) get it here, so both sides use the same name.
  const prefix = client.options?.keyPrefix ?? '';
  return {
    send: (args) => client.call(args[0] as string, ...args.slice(1)),
    async duplicate() {
      const copy = client.duplicate();
      copy.on('error', () => {});
      // A client made with `lazyConnect` hands that on to its copies.
      if (copy.status === 'wait') await copy.connect();
      else if (copy.status !== 'ready') {
        await new Promise<void>((resolve, reject) => {
          copy.once('ready', () => resolve());
          copy.once('end', () => reject(new Error('connection closed before it was ready')));
        });
      }
      return ioredisAdapter(copy, true);
    },
    async subscribe(channel, onMessage) {
      if (listening === undefined) {
        const map = new Map<string, (message: string) => void>();
        listening = map;
        client.on('message', ((ch: string, message: string) => {
          map.get(ch)?.(message);
        }) as (...args: never[]) => void);
      }
      listening.set(prefix + channel, onMessage);
      await client.subscribe(prefix + channel);
    },
    async close() {
      if (!owned || client.status === 'end') return;
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      client.disconnect();
      await ended;
    },
  };
}
