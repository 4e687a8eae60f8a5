// A real 3-master Redis Cluster for the tests: three redis-server processes with
// --cluster-enabled on free ports of 127.0.0.1, no persistence, the 16384 slots split
// between them (CLUSTER ADDSLOTSRANGE) and joined with CLUSTER MEET. `undefined` when no
// redis-server is installed.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { exited, findRedisServer, freePort, launch } from './redis-server.ts';

export interface TestCluster {
  /** The three masters, `{ host, port }`. */
  readonly nodes: readonly { host: string; port: number }[];
  stop(): Promise<void>;
}

/** A cluster node: a plain test server with cluster mode on, its state kept in `dir`. */
function launchNode(binary: string, port: number, dir: string): Promise<ChildProcess> {
  return launch(binary, port, [
    '--dir',
    dir,
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    `nodes-${port}.conf`,
    '--cluster-node-timeout',
    '5000',
  ]);
}

export async function startCluster(): Promise<TestCluster | undefined> {
  const binary = findRedisServer();
  if (binary === undefined) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'weft-redis-cluster-'));
  const children: ChildProcess[] = [];
  const admins: Redis[] = [];
  const stop = async (): Promise<void> => {
    for (const a of admins) a.disconnect();
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(children.map(exited));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    while (ports.length < 3) {
      const port = await freePort();
      // The cluster bus listens on port + 10000: it must be free too, and below 65536.
      if (port + 10000 > 65535 || ports.includes(port)) continue;
      try {
        children.push(await launchNode(binary, port, dir));
        ports.push(port);
      } catch {
        // Taken meanwhile (or its bus port is): try another.
      }
    }
    for (const port of ports) {
      const a = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
      a.on('error', () => {});
      await a.connect();
      admins.push(a);
    }
    const ranges = [
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ] as const;
    for (let i = 0; i < 3; i++) {
      await admins[i]!.call(
        'CLUSTER',
        'ADDSLOTSRANGE',
        String(ranges[i]![0]),
        String(ranges[i]![1]),
      );
    }
    for (const port of ports.slice(1))
      await admins[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(port));
    // Ready when every node sees the whole cluster with all slots served.
    for (let attempt = 0; ; attempt++) {
      const infos = await Promise.all(admins.map((a) => a.call('CLUSTER', 'INFO')));
      const ok = infos.every(
        (info) =>
          String(info).includes('cluster_state:ok') &&
          String(info).includes('cluster_known_nodes:3'),
      );
      if (ok) break;
      if (attempt > 200) throw new Error('the test cluster did not become ready within 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const a of admins) a.disconnect();
    admins.length = 0;
    return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
