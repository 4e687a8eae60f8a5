// A real redis-server for the tests: started on 127.0.0.1 at a free port without
// persistence, or the server at REDIS_URL. `undefined` when neither is available (the
// suites are then skipped and `npm test` reports it with the install command).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** Whether this test owns the server (and may kill and restart it). */
  readonly owned: boolean;
  /** Kills the server (SIGKILL: nothing is saved) and starts it again on the same port. */
  restart(): Promise<void>;
  /** Kills the server. */
  kill(): Promise<void>;
  /** Starts it again after `kill()`. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The redis-server binary on PATH (or Debian's path), if any. */
export function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const file = join(dir, 'redis-server');
    if (existsSync(file)) return file;
  }
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts redis-server on 127.0.0.1:`port` without persistence (plus `extraArgs`) and
 * resolves once it accepts connections; rejects if it exits first (a port taken, say).
 * `prefix`: a command that runs the server (`['valgrind', '--tool=callgrind']`: the
 * benchmarks count its instructions); its stderr is then kept for the caller to read
 * (`child.stderr`), else discarded.
 */
export function launch(
  binary: string,
  port: number,
  extraArgs: readonly string[] = [],
  prefix: readonly string[] = [],
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      ...extraArgs,
    ];
    const [command, ...before] = prefix.length > 0 ? prefix : [binary];
    const child = spawn(command!, prefix.length > 0 ? [...before, binary, ...args] : args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    if (prefix.length === 0) child.stderr?.resume();
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
}

/** Resolves once `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startRedis(): Promise<TestRedis | undefined> {
  const url = process.env.REDIS_URL;
  if (url !== undefined && url !== '') {
    const port = Number(new URL(url).port || 6379);
    const unsupported = async (): Promise<void> => {
      throw new Error('REDIS_URL: this server is not owned by the test');
    };
    return {
      url,
      port,
      owned: false,
      restart: unsupported,
      kill: unsupported,
      start: unsupported,
      stop: async () => {},
    };
  }
  const binary = findRedisServer();
  if (binary === undefined) return undefined;
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 5 && child === undefined; attempt++) {
    port = await freePort();
    child = await launch(binary, port).catch(() => undefined);
  }
  if (child === undefined) throw new Error('could not start redis-server');
  const kill = async (): Promise<void> => {
    if (child === undefined) return;
    const c = child;
    child = undefined;
    c.kill('SIGKILL');
    await exited(c);
  };
  const start = async (): Promise<void> => {
    child = await launch(binary, port);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    owned: true,
    kill,
    start,
    restart: async () => {
      await kill();
      await start();
    },
    stop: kill,
  };
}
