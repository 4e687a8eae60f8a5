// Benchmarks of issue 13: @weft/redis against its peers, on a redis-server that the
// benchmark starts itself (127.0.0.1, a free port, no persistence). Every subject talks to
// the same server through ioredis (bottleneck, redis-semaphore and BullMQ take ioredis).
// Besides throughput it counts round trips: Redis commands processed per operation.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { RedisQueue, RedisRateLimiter, RedisSemaphore } from '@weft/redis';
import Bottleneck from 'bottleneck';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { Semaphore as PeerSemaphore } from 'redis-semaphore';
import type { Case, Row } from '../harness.ts';
import { pairedInterval } from '../stats.ts';

export interface RoundTrips {
  case: string;
  subject: string;
  /** Commands sent by the client per operation (MONITOR lines not from a script). */
  sentPerOp: number;
  /** Every command Redis executed per operation, those inside Lua scripts included. */
  executedPerOp: number;
}

/**
 * What one operation of a subject costs, measured by fine interleaving: case by case,
 * `blocks` times, every subject of the case runs `opsPerBlock` sequential operations, one
 * subject after the other (the order rotates by one each block), and each subject's costs
 * are summed over all its blocks. Load on the shared machine comes and goes over seconds; blocks last
 * milliseconds, so every subject sees about the same load, and the sums compare fairly.
 * One `OpCost` per subject in `results.json` (`redisCosts`).
 */
export interface OpCost {
  case: string;
  subject: string;
  /** Wall-clock time per operation, µs: summed over all blocks ÷ operations. */
  wallUs: number;
  /** Throughput, operations per second of summed wall time (the issue's target metric). */
  opsPerSec: number;
  /**
   * Redis server CPU per operation, µs: run time of the server's main thread from
   * `/proc/<pid>/schedstat` (ns resolution), else `INFO cpu` (user + sys, coarser); see
   * `serverCpuSource`.
   */
  serverCpuUs: number;
  /** Where `serverCpuUs` comes from. */
  serverCpuSource: 'schedstat' | 'INFO cpu';
  /** Client CPU per operation, µs: `process.cpuUsage()` of this process, user + sys. */
  clientCpuUs: number;
  /** Commands Redis executed per operation (INFO commandstats calls, script bodies included). */
  commands: number;
  blocks: number;
  opsPerBlock: number;
  /**
   * This subject's summed cost ÷ weft's in the same case (wall time, server CPU, client
   * CPU): above 1, weft is cheaper or faster (for wall time: weft's throughput is that
   * many times this subject's). weft's own row has 1.
   */
  wallRatio: number;
  serverRatio: number;
  clientRatio: number;
  /**
   * How far to trust each ratio: the 5th and 95th percentiles of the ratio over 1000
   * resamplings of the blocks (paired bootstrap: a resampled block takes both subjects'
   * costs of that block). An interval that contains 1 is a tie within the noise.
   */
  wallRatioInterval: [number, number];
  serverRatioInterval: [number, number];
  clientRatioInterval: [number, number];
}

export interface RedisBench {
  cases: Case[];
  /**
   * Per-operation costs by fine interleaving (see {@link OpCost}) of the cases whose name
   * `only` accepts (default: all).
   */
  costs(
    blocks: number,
    opsPerBlock: number,
    only?: (caseName: string) => boolean,
  ): Promise<OpCost[]>;
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

  // Server CPU of the redis-server this bench started, in µs: its main thread's run time
  // from /proc (ns resolution, and reading it costs the server nothing), else INFO cpu
  // (read on the admin connection: the server does that work outside the measured span).
  const schedstat = `/proc/${server.pid}/schedstat`;
  const useSchedstat = existsSync(schedstat);
  const serverCpuUs = async (): Promise<number> => {
    if (useSchedstat) return Number(readFileSync(schedstat, 'utf8').split(' ')[0]) / 1000;
    const info = String(await admin.call('INFO', 'CPU'));
    let us = 0;
    for (const line of info.split('\r\n')) {
      const cpu = /^used_cpu_(user|sys):([\d.]+)$/.exec(line);
      if (cpu) us += Number(cpu[2]) * 1e6;
    }
    return us;
  };
  // The total of INFO commandstats calls (INFO itself left out).
  const commandCalls = async (): Promise<number> => {
    const info = String(await admin.call('INFO', 'COMMANDSTATS'));
    let calls = 0;
    for (const line of info.split('\r\n')) {
      const stat = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
      if (stat && stat[1] !== 'info') calls += Number(stat[2]);
    }
    return calls;
  };

  return {
    cases,
    async costs(blocks, opsPerBlock, only = () => true) {
      type Block = { server: number; client: number; wall: number };
      const subjects = Object.entries(ops)
        .filter(([name]) => only(name))
        .flatMap(([name, subs]) =>
          Object.entries(subs).map(([subject, fn]) => ({
            name,
            subject,
            fn,
            commands: 0,
            blocks: [] as Block[],
          })),
        );
      // Warm-up, which also counts the commands per operation (apart from the timing).
      for (const s of subjects) {
        for (let i = 0; i < 50; i++) await s.fn();
        const before = await commandCalls();
        for (let i = 0; i < 200; i++) await s.fn();
        s.commands = ((await commandCalls()) - before) / 200;
      }
      // Case by case, so that the subjects compared alternate closely (a slow peer's blocks
      // do not sit between them).
      for (const name of new Set(subjects.map((s) => s.name))) {
        const group = subjects.filter((s) => s.name === name);
        for (let b = 0; b < blocks; b++) {
          for (let j = 0; j < group.length; j++) {
            const s = group[(j + b) % group.length]!;
            const s0 = await serverCpuUs();
            const c0 = process.cpuUsage();
            const t0 = performance.now();
            for (let i = 0; i < opsPerBlock; i++) await s.fn();
            const t1 = performance.now();
            const c1 = process.cpuUsage(c0);
            const s1 = await serverCpuUs();
            s.blocks.push({ server: s1 - s0, client: c1.user + c1.system, wall: (t1 - t0) * 1000 });
          }
        }
      }
      const sum = (xs: readonly Block[], f: (x: Block) => number): number =>
        xs.reduce((a, x) => a + f(x), 0);
      // Paired bootstrap of peer ÷ weft over blocks: [p5, p95] of 1000 resamplings.
      const interval = (
        peer: readonly Block[],
        weft: readonly Block[],
        f: (x: Block) => number,
      ): [number, number] => (peer === weft ? [1, 1] : pairedInterval(peer.map(f), weft.map(f)));
      const wall = (x: Block): number => x.wall;
      const srv = (x: Block): number => x.server;
      const cli = (x: Block): number => x.client;
      return subjects.map((s) => {
        const weft = subjects.find((w) => w.name === s.name && w.subject === 'weft') ?? s;
        const n = s.blocks.length * opsPerBlock;
        const ratio = (f: (x: Block) => number): number =>
          s === weft ? 1 : sum(s.blocks, f) / sum(weft.blocks, f);
        return {
          case: s.name,
          subject: s.subject,
          wallUs: sum(s.blocks, wall) / n,
          opsPerSec: (n * 1e6) / sum(s.blocks, wall),
          serverCpuUs: sum(s.blocks, srv) / n,
          serverCpuSource: useSchedstat ? 'schedstat' : 'INFO cpu',
          clientCpuUs: sum(s.blocks, cli) / n,
          commands: s.commands,
          blocks,
          opsPerBlock,
          wallRatio: ratio(wall),
          serverRatio: ratio(srv),
          clientRatio: ratio(cli),
          wallRatioInterval: interval(s.blocks, weft.blocks, wall),
          serverRatioInterval: interval(s.blocks, weft.blocks, srv),
          clientRatioInterval: interval(s.blocks, weft.blocks, cli),
        };
      });
    },
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

const f1 = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/**
 * Prints each case's costs with the peer-to-weft ratios (x above 1: weft is cheaper or
 * faster) and their 90% bootstrap intervals, and returns the wall-clock rows for
 * results.json.
 */
export function printCosts(costs: OpCost[]): Row[] {
  const rows: Row[] = [];
  const first = costs[0];
  if (first !== undefined) {
    console.log(
      `\nredis: ${first.blocks} interleaved blocks of ${first.opsPerBlock} sequential operations per subject, costs summed over all blocks (server CPU from ${first.serverCpuSource}).\nx = peer's cost / weft's (above 1: weft cheaper or faster), [90% paired bootstrap interval over blocks]`,
    );
  }
  const x = (r: number, [lo, hi]: [number, number]): string =>
    `x${r.toFixed(2)} [${lo.toFixed(2)}-${hi.toFixed(2)}]`;
  for (const name of [...new Set(costs.map((c) => c.case))]) {
    const group = costs.filter((c) => c.case === name);
    const weft = group.find((c) => c.subject === 'weft') ?? group[0]!;
    console.log(`\nredis / ${name}`);
    const w = Math.max(...group.map((c) => c.subject.length), 8);
    console.log(
      `  ${'subject'.padEnd(w)}  ${'ops/s (wall)'.padStart(30)}  ${'server CPU µs/op'.padStart(27)}  ${'client CPU µs/op'.padStart(27)}  ${'commands/op'.padStart(11)}`,
    );
    for (const c of group) {
      const mine = c === weft;
      console.log(
        `  ${c.subject.padEnd(w)}  ${`${c.opsPerSec.toFixed(0)}${mine ? '' : ` ${x(c.wallRatio, c.wallRatioInterval)}`}`.padStart(30)}  ${`${f1(c.serverCpuUs)}${mine ? '' : ` ${x(c.serverRatio, c.serverRatioInterval)}`}`.padStart(27)}  ${`${f1(c.clientCpuUs)}${mine ? '' : ` ${x(c.clientRatio, c.clientRatioInterval)}`}`.padStart(27)}  ${f1(c.commands).padStart(11)}`,
      );
      rows.push({
        suite: 'redis',
        case: name,
        subject: c.subject,
        opsPerSec: c.opsPerSec,
        ratioToWeft: c.opsPerSec / weft.opsPerSec,
        meanMs: c.wallUs / 1000,
        p50Ms: c.wallUs / 1000,
        samples: c.blocks * c.opsPerBlock,
        unit: '1 operation over TCP to a local redis-server (sum over interleaved blocks)',
      });
    }
  }
  return rows;
}
