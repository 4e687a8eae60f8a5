import { keySlot } from './internal/slot.ts';
import { describe } from './internal/validate.ts';

/**
 * The few things `@weft/redis` needs from a Redis client. {@link toRedisAdapter} builds
 * one from a node-redis (`redis` 5 or 6) or ioredis client as they are, a Redis Cluster
 * client of either included; implement it yourself to use another client.
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
  /**
   * Sends one command (`['EVALSHA', sha, '1', key, …]`) and resolves with its reply.
   * `key` is the key the command is about (the first key of a script): a cluster client
   * sends the command to the node that holds it, keyless commands such as `CLIENT
   * UNBLOCK` included; a single server ignores it.
   */
  send(args: readonly string[], key?: string): Promise<unknown>;
  /**
   * Opens a new connection, ready for commands, to the same server (for a cluster: to the
   * master that holds `key`): `@weft/redis` uses it for blocking reads and subscriptions,
   * and closes it with `close()`. When `signal` aborts before the connection is ready (the
   * primitive was closed during an outage), give up: close what was opened (so that no
   * reconnect timer keeps the process alive) and reject. An adapter that ignores `signal`
   * still works: a connection that opens after the primitive closed is closed then.
   */
  duplicate(key?: string, signal?: AbortSignal): Promise<RedisAdapter>;
  /**
   * Subscribes this connection to `channel`; `onMessage` runs for every message. The
   * channel is named like a key, and scripts publish to it as a key: an adapter that
   * prefixes keys must prefix the channel the same way, here and in the `PUBLISH` commands
   * it is given to `send`.
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

/** What a node-redis cluster (`createCluster()` of `redis` 5 or 6) offers. */
interface NodeRedisClusterLike {
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: readonly string[],
  ): Promise<unknown>;
  readonly slots: readonly ({ master: unknown } | undefined)[];
  nodeClient(node: unknown): NodeRedisLike | Promise<NodeRedisLike>;
  getRandomNode(): unknown;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  readonly masters: readonly unknown[];
}

/** What an ioredis cluster (`new Cluster()`) offers. */
interface IoRedisClusterLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  nodes(role?: 'master' | 'slave' | 'all'): IoRedisLike[];
  readonly slots: readonly (readonly string[] | undefined)[];
  subscribe(channel: string): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  readonly status: string;
  readonly options?: { readonly keyPrefix?: string | undefined } | undefined;
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
  readonly options?:
    | { readonly keyPrefix?: string | undefined; host?: string; port?: number }
    | undefined;
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

function isNodeRedisCluster(value: object): value is NodeRedisClusterLike {
  const v = value as Partial<NodeRedisClusterLike>;
  return (
    typeof v.sendCommand === 'function' &&
    typeof v.nodeClient === 'function' &&
    Array.isArray(v.masters) &&
    Array.isArray(v.slots)
  );
}

function isIoRedisCluster(value: object): value is IoRedisClusterLike {
  const v = value as Partial<IoRedisClusterLike>;
  return typeof v.call === 'function' && typeof v.nodes === 'function' && Array.isArray(v.slots);
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
 * Wraps a client for `@weft/redis`: a node-redis client (`createClient()`, connected) or
 * cluster (`createCluster()`, connected), an ioredis client (`new Redis()`) or cluster
 * (`new Cluster()`), or an object that already is a {@link RedisAdapter} (returned as
 * it is). With a cluster, every command goes to the master holding its key (each
 * primitive keeps its keys in one slot with a `{hash tag}`), and the connections
 * `@weft/redis` opens for blocking reads and subscriptions go straight to that master. The user's client is used as it is, never reconfigured or closed;
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
    if (isIoRedisCluster(client)) return ioredisClusterAdapter(client);
    if (isIoRedis(client)) return ioredisAdapter(client, false);
    if (isNodeRedisCluster(client)) return nodeRedisClusterAdapter(client);
    if (isNodeRedis(client)) return nodeRedisAdapter(client, false);
  }
  throw new TypeError(
    `Expected \`client\` to be a node-redis client, an ioredis client or a RedisAdapter, got ${describe(client)}`,
  );
}

function nodeRedisAdapter(client: NodeRedisLike, owned: boolean): RedisAdapter {
  return {
    send: (args) => client.sendCommand(args),
    async duplicate(_key, signal) {
      const copy = client.duplicate();
      // An 'error' event without a listener would crash the process; the failure also
      // reaches the pending command, which is where it is reported.
      copy.on('error', () => {});
      await untilAborted(copy.connect(), signal, () => {
        // Also stops its reconnect timer (an outage: connect() keeps retrying).
        if (typeof copy.destroy === 'function') copy.destroy();
        else void Promise.resolve(copy.close?.() ?? copy.quit?.()).catch(() => {});
      });
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
    send: (args) => client.call(args[0] as string, ...withPrefixedChannel(args, prefix)),
    async duplicate(_key, signal) {
      const copy = client.duplicate();
      copy.on('error', () => {});
      // A client made with `lazyConnect` hands that on to its copies.
      const ready =
        copy.status === 'wait'
          ? copy.connect()
          : copy.status === 'ready'
            ? undefined
            : new Promise<void>((resolve, reject) => {
                copy.once('ready', () => resolve());
                copy.once('end', () => reject(new Error('connection closed before it was ready')));
              });
      if (ready !== undefined) await untilAborted(ready, signal, () => copy.disconnect());
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

// Waits for `connecting`; when `signal` aborts first, runs `giveUp` (closes the connection
// being opened) and rejects with the signal's reason.
async function untilAborted(
  connecting: Promise<unknown>,
  signal: AbortSignal | undefined,
  giveUp: () => void,
): Promise<void> {
  if (signal === undefined) {
    await connecting;
    return;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      try {
        giveUp();
      } catch {
        // Closing a connection that never opened may throw: it is closed either way.
      }
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([connecting, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
    // The losing side of the race must not be left unhandled.
    connecting.catch(() => {});
  }
}

// ioredis prefixes keys but not channels: a PUBLISH to a channel named like a key gets the
// prefix here, as subscriptions do. Returns the arguments after the command name.
function withPrefixedChannel(args: readonly string[], prefix: string): string[] {
  const rest = args.slice(1);
  if (prefix !== '' && args[0]?.toUpperCase() === 'PUBLISH' && rest[0] !== undefined) {
    rest[0] = prefix + rest[0];
  }
  return rest;
}

// A keyless command about a key's node (CLIENT ID / CLIENT UNBLOCK) must reach that node:
// client ids are per node, and the same id on another node is another client.
const isNodeCommand = (args: readonly string[]): boolean => args[0]?.toUpperCase() === 'CLIENT';

function nodeRedisClusterAdapter(cluster: NodeRedisClusterLike): RedisAdapter {
  const nodeFor = async (key: string | undefined): Promise<NodeRedisLike> => {
    const node = key === undefined ? cluster.getRandomNode() : cluster.slots[keySlot(key)]?.master;
    if (node === undefined) throw new Error(`no cluster node serves the slot of \`${key}\``);
    return await cluster.nodeClient(node);
  };
  return {
    async send(args, key) {
      if (key !== undefined && isNodeCommand(args)) return (await nodeFor(key)).sendCommand(args);
      return cluster.sendCommand(key, false, args);
    },
    async duplicate(key, signal) {
      return toRedisAdapter(await nodeFor(key)).duplicate(undefined, signal);
    },
    subscribe: (channel, onMessage) => cluster.subscribe(channel, (message) => onMessage(message)),
    // The user's cluster: never closed here.
    close: async () => {},
  };
}

function ioredisClusterAdapter(cluster: IoRedisClusterLike): RedisAdapter {
  const prefix = cluster.options?.keyPrefix ?? '';
  const ready = async (): Promise<void> => {
    if (cluster.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      cluster.once('ready', () => resolve());
      cluster.once('end', () => reject(new Error('the cluster connection ended')));
    });
  };
  const nodeFor = async (key: string | undefined): Promise<IoRedisLike> => {
    await ready();
    const masters = cluster.nodes('master');
    if (key === undefined) {
      const any = masters[0];
      if (any === undefined) throw new Error('the cluster has no master');
      return any;
    }
    const address = cluster.slots[keySlot(prefix + key)]?.[0];
    const node = masters.find((n) => `${n.options?.host}:${n.options?.port}` === address);
    if (node === undefined) throw new Error(`no cluster node serves the slot of \`${key}\``);
    return node;
  };
  let listening: Map<string, (message: string) => void> | undefined;
  return {
    async send(args, key) {
      if (key !== undefined && isNodeCommand(args)) {
        const node = await nodeFor(key);
        return node.call(args[0] as string, ...args.slice(1));
      }
      return cluster.call(args[0] as string, ...withPrefixedChannel(args, prefix));
    },
    async duplicate(key, signal) {
      return ioredisAdapter(await nodeFor(key), false).duplicate(undefined, signal);
    },
    async subscribe(channel, onMessage) {
      if (listening === undefined) {
        const map = new Map<string, (message: string) => void>();
        listening = map;
        cluster.on('message', ((ch: string, message: string) => {
          map.get(ch)?.(message);
        }) as (...args: never[]) => void);
      }
      listening.set(prefix + channel, onMessage);
      await cluster.subscribe(prefix + channel);
    },
    close: async () => {},
  };
}
