// pnpm bench [filter]: runs every benchmark (or those whose suite/case contains the
// filter), prints the tables, and writes bench/results.json. Never part of CI.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform } from 'node:os';
import { type Case, type Row, runCase } from './harness.ts';
import * as core from './suites/core.ts';
import * as http from './suites/http.ts';
import * as redisSuite from './suites/redis.ts';

const filter = process.argv[2];
const budgetMs = Number(process.env.BENCH_BUDGET_MS ?? 600);
// A filter that names a suite exactly (`pnpm bench http`) loads only that suite: some
// suites do real work when imported (db-sim builds a 10,000-row table).
const only = ['core', 'coordination', 'diagnostics', 'db-sim', 'http', 'effect'].includes(
  filter ?? '',
)
  ? filter
  : undefined;
const suite = async (name: string, load: () => Promise<{ cases: Case[] }>): Promise<Case[]> =>
  only === undefined || only === name ? (await load()).cases : [];
const all: Case[] = [
  ...(await suite('core', async () => core)),
  ...(await suite('coordination', () => import('./suites/coordination.ts'))),
  ...(await suite('diagnostics', () => import('./suites/diagnostics.ts'))),
  ...(await suite('db-sim', () => import('./suites/db-sim.ts'))),
  ...(await suite('http', async () => http)),
  ...(await suite('effect', () => import('./suites/effect.ts'))),
];
const chosen = filter ? all.filter((c) => `${c.suite} ${c.case}`.includes(filter)) : all;

console.log(
  `weft benchmarks on Node ${process.version} (${platform()} ${arch()}, ${cpus().length} cpus, ${cpus()[0]?.model ?? '?'})`,
);
const rows: Row[] = [];
for (const c of chosen) rows.push(...(await runCase(c, budgetMs)));
const httpCpu = chosen.some((c) => c.suite === 'http') ? await http.cpuPerRequest() : [];
http.stop();

// @weft/redis against its peers, on a redis-server this run starts (skipped without one).
let roundTrips: Awaited<ReturnType<redisSuite.RedisBench['roundTrips']>> = [];
let redisCosts: redisSuite.OpCost[] = [];
if (!filter || /redis|limiter|semaphore|queue/i.test(filter)) {
  const bench = await redisSuite.setup();
  if (bench !== undefined) {
    try {
      // Fine interleaving: many short blocks per subject, alternating, summed (see OpCost).
      const blocks = Number(process.env.BENCH_REDIS_BLOCKS ?? 200);
      const perBlock = Number(process.env.BENCH_REDIS_OPS ?? 50);
      redisCosts = await bench.costs(
        blocks,
        perBlock,
        (name) => !filter || `redis ${name}`.includes(filter),
      );
      rows.push(...redisSuite.printCosts(redisCosts));
      roundTrips = await bench.roundTrips();
      console.log(
        '\nredis / commands per operation: sent by the client (round trips), executed by Redis',
      );
      for (const r of roundTrips) {
        console.log(
          `  ${r.case}: ${r.subject}: ${r.sentPerOp.toFixed(2)} sent, ${r.executedPerOp.toFixed(2)} executed`,
        );
      }
    } finally {
      await bench.close();
    }
  }
}
const memory = !filter || filter.includes('memory') ? await core.memory() : [];

// A filtered run replaces only the rows it measured.
const file = new URL('./results.json', import.meta.url);
let previous: {
  rows?: Row[];
  memory?: typeof memory;
  httpCpu?: typeof httpCpu;
  redisRoundTrips?: typeof roundTrips;
  redisCosts?: typeof redisCosts;
} = {};
if (filter && existsSync(file)) previous = JSON.parse(readFileSync(file, 'utf8'));
const measured = new Set(rows.map((r) => `${r.suite}/${r.case}`));
const allRows = [
  ...(previous.rows ?? []).filter((r) => !measured.has(`${r.suite}/${r.case}`)),
  ...rows,
];
const allMemory = memory.length > 0 ? memory : (previous.memory ?? []);
const allRoundTrips = roundTrips.length > 0 ? roundTrips : (previous.redisRoundTrips ?? []);
const allCosts = redisCosts.length > 0 ? redisCosts : (previous.redisCosts ?? []);
writeFileSync(
  file,
  `${JSON.stringify({ node: process.version, date: new Date().toISOString(), rows: allRows, memory: allMemory, httpCpu: httpCpu.length > 0 ? httpCpu : (previous.httpCpu ?? []), redisRoundTrips: allRoundTrips, redisCosts: allCosts }, null, 2)}\n`,
);
console.log(`\nwrote ${file.pathname}`);
