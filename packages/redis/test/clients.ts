// The two clients every suite runs with: node-redis (RESP3, its default) and ioredis.
import { Redis, type RedisOptions } from 'ioredis';
import { createClient } from 'redis';

export interface TestClient {
  readonly name: string;
  readonly client: unknown;
  close(): Promise<void>;
  /** How many connections the server sees from this test run (CLIENT LIST). */
  connections(): Promise<number>;
  command(args: string[]): Promise<unknown>;
}

/**
 * A plain ioredis connection to `url` for a test that drives Redis by hand; it
 * disconnects when the block that holds it ends (`using io = ioredis(url)`).
 */
export function ioredis(url: string, options: RedisOptions = {}): Redis & Disposable {
  const io = new Redis(url, options);
  return Object.assign(io, { [Symbol.dispose]: (): void => void io.disconnect() });
}

export type ClientKind = 'node-redis' | 'ioredis';
export const CLIENT_KINDS: readonly ClientKind[] = ['node-redis', 'ioredis'];

export async function connect(kind: ClientKind, url: string): Promise<TestClient> {
  if (kind === 'node-redis') {
    const client = createClient({ url });
    client.on('error', () => {});
    await client.connect();
    const command = (args: string[]): Promise<unknown> => client.sendCommand(args);
    return {
      name: kind,
      client,
      command,
      connections: async () => countClients(String(await command(['CLIENT', 'LIST']))),
      close: async () => {
        if (client.isOpen) client.destroy();
      },
    };
  }
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  client.on('error', () => {});
  await client.connect();
  const command = (args: string[]): Promise<unknown> =>
    client.call(args[0] as string, ...args.slice(1));
  return {
    name: kind,
    client,
    command,
    connections: async () => countClients(String(await command(['CLIENT', 'LIST']))),
    close: async () => {
      client.disconnect();
    },
  };
}

function countClients(list: string): number {
  return list.split('\n').filter((line) => line.trim() !== '').length;
}

let keySeq = 0;
/** A key no other test uses. */
export function uniqueKey(prefix: string): string {
  keySeq += 1;
  return `${prefix}:${process.pid}:${Date.now().toString(36)}:${keySeq}`;
}
