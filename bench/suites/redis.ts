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
import type { Case, Row } from '../harness.ts';

export interface RoundTrips {
  case: string;
  subject: string;
  /** Commands sent by the client per operation (MONITOR lines not from a script). */
  sentPerOp: number;
  /** Every command Redis executed per operation, those inside Lua scripts included. */
  executedPerOp: number;
}

/** What one operation of a subject costs, from interleaved rounds (best of N). */
export interface OpCost {
  case: string;
  subject: string;
  /** Redis server CPU (user + sys of the server process, INFO cpu) per operation, µs: best round. */
  serverCpuUs: number;
  /** The same, median round. */
  serverCpuUsMedian: number;
  /** Commands Redis executed per operation (INFO commandstats calls, script bodies included). */
  commands: number;
  /** Client CPU (process.cpuUsage of this process) per operation, µs: best round. */
  clientCpuUs: number;
  clientCpuUsMedian: number;
  /** Wall-clock throughput, best round (for reference: load distorts it). */
  opsPerSec: number;
  opsPerSecMedian: number;
  rounds: number;
  opsPerRound: number;
  /**
   * This subject's cost ÷ weft's, taken round by round (the two ran back to back in the
   * same round, so they saw about the same machine load), then the median over rounds: the
   * figure that load distorts least. At or above 1, weft is at or above this subject;
   * weft's own row has 1. Server CPU, client CPU and wall time.
   */
  pairedServerRatio: number;
  pairedClientRatio: number;
  pairedWallRatio: number;
}

export interface RedisBench {
  cases: Case[];
  /**
   * Per-operation costs that machine load distorts little: every subject runs `opsPerRound`
   * operations per round, the subjects interleaved (the order rotates), `rounds` times.
   */
  costs(rounds: number, opsPerRound: number): Promise<OpCost[]>;
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

  // INFO cpu (µs of the server process) and the total of commandstats calls (INFO itself
  // left out), read on the admin connection.
  const serverState = async (): Promise<{ cpuUs: number; calls: number }> => {
    const info = String(await admin.call('INFO', 'ALL'));
    let cpuUs = 0;
    let calls = 0;
    for (const line of info.split('\r\n')) {
      const cpu = /^used_cpu_(user|sys):([\d.]+)$/.exec(line);
      if (cpu) cpuUs += Number(cpu[2]) * 1e6;
      const stat = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
      if (stat && stat[1] !== 'info') calls += Number(stat[2]);
    }
    return { cpuUs, calls };
  };

  return {
    cases,
    async costs(rounds, opsPerRound) {
      type Sample = {
        cpu: number;
        calls: number;
        client: number;
        opsPerSec: number;
      };
      const subjects = Object.entries(ops).flatMap(([name, subs]) =>
        Object.entries(subs).map(([subject, fn]) => ({
          name,
          subject,
          fn,
          samples: [] as Sample[],
        })),
      );
      for (const s of subjects) for (let i = 0; i < 20; i++) await s.fn(); // warm up
      for (let r = 0; r < rounds; r++) {
        for (let j = 0; j < subjects.length; j++) {
          const s = subjects[(j + r) % subjects.length]!;
          const before = await serverState();
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          for (let i = 0; i < opsPerRound; i++) await s.fn();
          const t1 = performance.now();
          const c1 = process.cpuUsage(c0);
          const after = await serverState();
          s.samples.push({
            cpu: (after.cpuUs - before.cpuUs) / opsPerRound,
            calls: (after.calls - before.calls) / opsPerRound,
            client: (c1.user + c1.system) / opsPerRound,
            opsPerSec: (opsPerRound * 1000) / (t1 - t0),
          });
        }
      }
      const min = (xs: number[]): number => Math.min(...xs);
      const median = (xs: number[]): number => {
        const sorted = [...xs].sort((a, b) => a - b);
        return sorted[Math.floor(sorted.length / 2)]!;
      };
      const paired = (s: (typeof subjects)[number], f: (x: Sample) => number): number => {
        const weft = subjects.find((w) => w.name === s.name && w.subject === 'weft') ?? s;
        return median(s.samples.map((x, r) => f(x) / f(weft.samples[r]!)));
      };
      return subjects.map((s) => ({
        case: s.name,
        subject: s.subject,
        serverCpuUs: min(s.samples.map((x) => x.cpu)),
        serverCpuUsMedian: median(s.samples.map((x) => x.cpu)),
        commands: median(s.samples.map((x) => x.calls)),
        clientCpuUs: min(s.samples.map((x) => x.client)),
        clientCpuUsMedian: median(s.samples.map((x) => x.client)),
        opsPerSec: Math.max(...s.samples.map((x) => x.opsPerSec)),
        opsPerSecMedian: median(s.samples.map((x) => x.opsPerSec)),
        rounds,
        opsPerRound,
        pairedServerRatio: paired(s, (x) => x.cpu),
        pairedClientRatio: paired(s, (x) => x.client),
        pairedWallRatio: paired(s, (x) => 1 / x.opsPerSec),
      }));
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
 * Prints each case's costs with the peer-to-weft ratios (above 1: weft is cheaper or
 * faster) and returns the wall-clock rows for results.json.
 */
export function printCosts(costs: OpCost[]): Row[] {
  const rows: Row[] = [];
  const first = costs[0];
  if (first !== undefined) {
    console.log(
      `\nredis: ${first.rounds} interleaved rounds of ${first.opsPerRound} operations per subject; best round (median). x = peer's cost / weft's (>= 1: weft at or above)`,
    );
  }
  for (const name of [...new Set(costs.map((c) => c.case))]) {
    const group = costs.filter((c) => c.case === name);
    const weft = group.find((c) => c.subject === 'weft') ?? group[0]!;
    console.log(`\nredis / ${name}`);
    const w = Math.max(...group.map((c) => c.subject.length), 8);
    console.log(
      `  ${'subject'.padEnd(w)}  ${'server CPU µs/op'.padStart(22)}  ${'commands/op'.padStart(11)}  ${'client CPU µs/op'.padStart(22)}  ${'ops/s (wall)'.padStart(22)}`,
    );
    for (const c of group) {
      const ratio = (peer: number, mine: number): string =>
        c === weft ? '' : ` x${(peer / mine).toFixed(2)}`;
      console.log(
        `  ${c.subject.padEnd(w)}  ${`${f1(c.serverCpuUs)} (${f1(c.serverCpuUsMedian)})${ratio(c.serverCpuUs, weft.serverCpuUs)}`.padStart(22)}  ${`${f1(c.commands)}${ratio(c.commands, weft.commands)}`.padStart(11)}  ${`${f1(c.clientCpuUs)} (${f1(c.clientCpuUsMedian)})${ratio(c.clientCpuUs, weft.clientCpuUs)}`.padStart(22)}  ${`${f1(c.opsPerSec)} (${f1(c.opsPerSecMedian)})${ratio(weft.opsPerSec, c.opsPerSec)}`.padStart(22)}`,
      );
      if (c !== weft) {
        console.log(
          `  ${''.padEnd(w)}  same round, median: server x${c.pairedServerRatio.toFixed(2)}, client x${c.pairedClientRatio.toFixed(2)}, wall x${c.pairedWallRatio.toFixed(2)}`,
        );
      }
      rows.push({
        suite: 'redis',
        case: name,
        subject: c.subject,
        opsPerSec: c.opsPerSec,
        ratioToWeft: c.opsPerSec / weft.opsPerSec,
        meanMs: 1000 / c.opsPerSecMedian,
        p50Ms: 1000 / c.opsPerSecMedian,
        samples: c.rounds * c.opsPerRound,
        unit: '1 operation over TCP to a local redis-server (best of interleaved rounds)',
      });
    }
  }
  return rows;
}
