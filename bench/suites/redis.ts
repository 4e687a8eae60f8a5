// Benchmarks of issue 13: @weft/redis against its peers, on a redis-server that the
// benchmark starts itself (127.0.0.1, a free port, no persistence). Every subject talks to
// the same server through ioredis (bottleneck, redis-semaphore and BullMQ take ioredis).
// Besides throughput it counts round trips: Redis commands processed per operation.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { RedisQueue, RedisRateLimiter, RedisSemaphore } from '@weft/redis';
import Bottleneck from 'bottleneck';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { Semaphore as PeerSemaphore } from 'redis-semaphore';
import type { Case } from '../harness.ts';

export interface RoundTrips {
  case: string;
  subject: string;
  /** Commands sent by the client per operation (MONITOR lines not from a script). */
  sentPerOp: number;
  /** Every command Redis executed per operation, those inside Lua scripts included. */
  executedPerOp: number;
}

export interface RedisBench {
  cases: Case[];
  /** Commands per operation of each subject, measured apart from the timing runs. */
  roundTrips(): Promise<RoundTrips[]>;
  close(): Promise<void>;
}

function findRedisServer(): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']) {
    if (dir !== '' && existsSync(join(dir, 'redis-server'))) return join(dir, 'redis-server');
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

function startServer(binary: string, port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve(child);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
}

/** Starts a redis-server and builds the cases; `undefined` when none is installed. */
export async function setup(): Promise<RedisBench | undefined> {
  const binary = findRedisServer();
  if (binary === undefined) {
    console.log(
      '\nredis: SKIPPED, no redis-server; install it with: sudo apt-get install -y redis-server',
    );
    return undefined;
  }
  const port = await freePort();
  const server = await startServer(binary, port);
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const client = new Redis(connection);
  const admin = new Redis(connection);
  const bullConnection = new Redis(connection);
  let seq = 0;
  const key = (name: string): string => `bench:${name}:${++seq}`;

  // Rate limiter: the decision cost with a limit never reached (no waiting).
  const BIG = 1_000_000_000;
  const weftLimiter = new RedisRateLimiter({ client, key: key('rl'), limit: BIG, interval: 1000 });
  const weftBucket = new RedisRateLimiter({
    client,
    key: key('rl'),
    limit: BIG,
    interval: 1000,
    burst: BIG,
  });
  const flexible = new RateLimiterRedis({
    storeClient: client,
    points: BIG,
    duration: 1,
    keyPrefix: key('rlf'),
  });
  const bottleneck = new Bottleneck({
    datastore: 'ioredis',
    Redis,
    clientOptions: connection,
    id: key('bn'),
    clearDatastore: true,
  });
  await bottleneck.ready();

  // Semaphore: acquire then release, uncontended, 100 permits.
  const weftSem = new RedisSemaphore({ client, key: key('sem'), permits: 100, lease: 10_000 });
  const semKey = key('rsem');

  // Queue: put, get, ack of one message.
  const weftQueue = new RedisQueue<{ n: number }>({ client, key: key('q') });
  const bullName = key('bull').replace(/:/g, '-');
  const bullQueue = new BullQueue(bullName, { connection: bullConnection });
  const bullWorker = new BullWorker(bullName, null, { connection: bullConnection });
  const token = 'bench-token';

  const ops: Record<string, Record<string, () => Promise<unknown>>> = {
    'rate limiter acquire (limit never reached)': {
      weft: () => weftLimiter.acquire(),
      'weft (token bucket)': () => weftBucket.acquire(),
      'rate-limiter-flexible RateLimiterRedis': () => flexible.consume('k'),
      'bottleneck (ioredis store)': () => bottleneck.schedule(async () => {}),
    },
    'semaphore acquire + release (uncontended)': {
      weft: async () => {
        const permit = await weftSem.acquire();
        await permit.release();
      },
      'redis-semaphore': async () => {
        const s = new PeerSemaphore(client, semKey, 100, { lockTimeout: 10_000 });
        await s.acquire();
        await s.release();
      },
    },
    'queue put + get + ack (one message)': {
      weft: async () => {
        await weftQueue.put({ n: 1 });
        const msg = await weftQueue.get();
        await msg.ack();
      },
      'BullMQ add + getNextJob + moveToCompleted': async () => {
        await bullQueue.add('job', { n: 1 }, { removeOnComplete: true });
        const job = await bullWorker.getNextJob(token);
        if (job === undefined) throw new Error('BullMQ gave no job');
        await job.moveToCompleted('ok', token, false);
      },
    },
  };

  const cases: Case[] = Object.entries(ops).map(([name, subjects]) => ({
    suite: 'redis',
    case: name,
    unit: '1 operation over TCP to a local redis-server',
    subjects: Object.entries(subjects).map(([subject, fn]) => ({ subject, fn })),
  }));

  return {
    cases,
    async roundTrips() {
      // MONITOR shows every command with its source: a client address, or `lua` for
      // commands run by a script. Pipelined commands count one each (an upper bound on
      // round trips).
      const monitor = await admin.monitor();
      let sent = 0;
      let executed = 0;
      monitor.on('monitor', (_time: string, _args: string[], source: string) => {
        executed++;
        if (source !== 'lua') sent++;
      });
      const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));
      const out: RoundTrips[] = [];
      const n = 200;
      for (const [name, subjects] of Object.entries(ops)) {
        for (const [subject, fn] of Object.entries(subjects)) {
          await fn();
          await settle();
          sent = executed = 0;
          for (let i = 0; i < n; i++) await fn();
          await settle();
          out.push({ case: name, subject, sentPerOp: sent / n, executedPerOp: executed / n });
        }
      }
      monitor.disconnect();
      return out;
    },
    async close() {
      await weftSem.close();
      await weftQueue.close();
      await bullWorker.close();
      await bullQueue.close();
      await bottleneck.disconnect(false);
      client.disconnect();
      admin.disconnect();
      bullConnection.disconnect();
      server.kill('SIGKILL');
    },
  };
}
