// Benchmarks of issue 8: @weft/http against raw fetch (the floor) and its peers, GETting a
// 1 KiB JSON body and a 64 KiB body, 50 requests in flight. The server runs in a child
// process (bench/http-server.mjs). One op is a batch of 500 requests.
import type { ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { FetchHttpClient, HttpClient } from '@effect/platform';
import { Effect } from 'effect';
import { request } from 'undici';
import { type Case, collect } from '../harness.ts';
import {
  type As,
  clients,
  FLOOR,
  OFETCH_TIMEOUT,
  pool,
  SIGNAL,
  startServer,
} from '../http-clients.ts';

const BATCH = 500;
const CONCURRENCY = 50;
const EFFECT = '@effect/platform HttpClient (fetch)';

let child: ChildProcess | undefined;
let base: Promise<string> | undefined;

/** Starts the server process once, on first use. */
function server(): Promise<string> {
  if (base === undefined) {
    const started = startServer();
    child = started.process;
    base = started.url.then(async (url) => {
      // Warm the server and the runtime's fetch up, so the first subject measured does not pay for it.
      for (let i = 0; i < 4; i++)
        await batch(() => fetch(`${url}/json`).then((r) => r.arrayBuffer()));
      return url;
    });
  }
  return base;
}

/** Stops the server process (run.ts calls it at the end). */
export function stop(): void {
  child?.stdin?.end();
  child = undefined;
}

// Requests per batch: BATCH, except for the unmeasured warm-up before each CPU turn.
let batchSize = BATCH;
/** Requests run after the full GC that precedes each CPU turn, outside the measurement. */
const WARM_UP = 100;

/** `batchSize` calls of `one`, at most `CONCURRENCY` at once. */
const batch = (one: () => Promise<unknown>): Promise<void> => pool(batchSize, CONCURRENCY, one);

const effectClient = Effect.runSync(Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer));

function subjects(path: string, as: As): Case['subjects'] {
  const url = async (): Promise<string> => `${await server()}${path}`;
  const shared = Object.entries(clients(as)).map(([subject, one]) => ({
    subject,
    fn: async () => {
      const u = await url();
      await batch(() => one(u));
    },
  }));
  return [
    ...shared,
    {
      subject: 'undici request',
      fn: async () => {
        const u = await url();
        await batch(async () => {
          const { body } = await request(u);
          return as === 'json' ? body.json() : body.arrayBuffer();
        });
      },
    },
    {
      subject: EFFECT,
      fn: async () => {
        const u = await url();
        const one = Effect.flatMap(effectClient.get(u), (res) =>
          as === 'json' ? res.json : res.arrayBuffer,
        );
        await Effect.runPromise(
          Effect.forEach(Array.from({ length: BATCH }), () => one, {
            concurrency: CONCURRENCY,
            discard: true,
          }),
        );
      },
    },
  ];
}

/** One row of the CPU table: the client process's CPU time per request. */
export interface CpuRow {
  case: string;
  subject: string;
  /** Best (lowest) CPU µs per request over the rounds. */
  cpuMicrosPerRequest: number;
  /** Median CPU µs per request over the rounds. */
  cpuMicrosPerRequestMedian: number;
  /** Raw fetch's best CPU per request over this subject's: its throughput per CPU relative to fetch (> 1 is faster). */
  throughputVsFetch: number;
  /** The same from the medians. */
  throughputVsFetchMedian: number;
  /**
   * The median over rounds of (fetch's CPU per request ÷ this subject's) within the same
   * round: the most load-proof of the three, since both ran under the same load.
   */
  throughputVsFetchPaired: number;
  /** The 25th and 75th percentiles of those same-round ratios: how far to trust the median. */
  throughputVsFetchPairedIqr: [number, number];
  rounds: number;
  /** The machine's 1-minute load average before and after this case (os.loadavg). */
  loadAverage: [number, number];
}

/** The `q` quantile (0…1) of `values`, interpolated. */
const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
};
const median = (values: number[]): number => quantile(values, 0.5);

/**
 * The same subjects, measured another way: CPU time of this process (all threads, GC
 * included) per request, over `rounds` rounds in which the subjects take turns. On a
 * shared, loaded machine wall-clock requests/s swing by ±20% between runs; CPU per
 * request moves much less. Two things keep one subject from paying for another: the
 * order rotates every round (no subject always follows the same one), and a full GC runs
 * before each subject's turn, outside the measurement (so the garbage the previous
 * subject left is not collected on this one's time; its own garbage is), followed by a
 * short unmeasured warm-up of the same subject (the GC deoptimizes code, and the
 * re-optimization belongs to no one's turn). Both the best and the median round are
 * reported.
 */
export async function cpuPerRequest(
  rounds = Number(process.env.BENCH_HTTP_ROUNDS ?? 12),
): Promise<CpuRow[]> {
  const rows: CpuRow[] = [];
  for (const c of cases) {
    const only = process.env.BENCH_HTTP_SUBJECTS?.split(',');
    const subjects = c.subjects.filter(
      (s) => only === undefined || s.subject === FLOOR || only.includes(s.subject),
    );
    const samples = new Map<string, number[]>(subjects.map((s) => [s.subject, []]));
    const loadBefore = loadavg()[0]!;
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < subjects.length; i++) {
        const s = subjects[(i + round) % subjects.length]!;
        collect();
        // A full GC throws away optimized code that embedded objects it collected, in
        // weft, fetch and the peers alike; forced before every turn, that is ten times
        // the rate of full GCs in a steady run (about 2 per 10,000 requests), and the
        // re-optimization fell on the turn measured next. A few unmeasured requests
        // restore the steady state first.
        batchSize = WARM_UP;
        await s.fn();
        batchSize = BATCH;
        const start = process.cpuUsage();
        await s.fn();
        const used = process.cpuUsage(start);
        samples.get(s.subject)!.push((used.user + used.system) / BATCH);
      }
    }
    const loadAfter = loadavg()[0]!;
    const floor = Math.min(...samples.get(FLOOR)!);
    const floorMedian = median(samples.get(FLOOR)!);
    console.log(
      `\n${c.suite} / ${c.case}: CPU per request, ${rounds} rounds (rotating order, a full GC and ${WARM_UP} unmeasured requests before each turn; load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)})`,
    );
    console.log(
      `  ${'subject'.padEnd(36)}  best µs  × fetch   median µs  × fetch   × fetch, same round: median [p25–p75]`,
    );
    for (const [subject, values] of samples) {
      const best = Math.min(...values);
      const mid = median(values);
      const floors = samples.get(FLOOR)!;
      const ratios = values.map((v, i) => floors[i]! / v);
      const paired = median(ratios);
      const iqr: [number, number] = [quantile(ratios, 0.25), quantile(ratios, 0.75)];
      rows.push({
        case: c.case,
        subject,
        cpuMicrosPerRequest: best,
        cpuMicrosPerRequestMedian: mid,
        throughputVsFetch: floor / best,
        throughputVsFetchMedian: floorMedian / mid,
        throughputVsFetchPaired: paired,
        throughputVsFetchPairedIqr: iqr,
        rounds,
        loadAverage: [loadBefore, loadAfter],
      });
      console.log(
        `  ${subject.padEnd(36)} ${best.toFixed(1).padStart(8)}  ${(floor / best).toFixed(2).padStart(6)}  ${mid.toFixed(1).padStart(10)}  ${(floorMedian / mid).toFixed(2).padStart(6)}  ${paired.toFixed(2).padStart(8)} [${iqr[0].toFixed(2)}–${iqr[1].toFixed(2)}]`,
      );
    }
    const weft = rows.find((r) => r.case === c.case && r.subject === 'weft')!;
    const peers = rows.filter(
      (r) => r.case === c.case && ['ky', 'ofetch', EFFECT].includes(r.subject),
    );
    const ahead = peers.every((p) => weft.throughputVsFetchPaired > p.throughputVsFetchPaired);
    console.log(
      `  target (same-round medians): weft ≥ 0.95× fetch: ${weft.throughputVsFetchPaired >= 0.95 ? 'met' : 'NOT met'} (${weft.throughputVsFetchPaired.toFixed(2)}×); ahead of ky, ofetch, @effect/platform: ${peers.length === 3 ? (ahead ? 'yes' : 'NO') : 'not measured'}`,
    );
    // The same comparison against what can cancel a request in flight, as weft can: fetch
    // given a fresh signal, and ofetch with a timeout.
    const weftSamples = samples.get('weft');
    for (const other of [SIGNAL, OFETCH_TIMEOUT]) {
      const theirs = samples.get(other);
      if (weftSamples === undefined || theirs === undefined) continue;
      const ratio = median(weftSamples.map((w, i) => theirs[i]! / w));
      console.log(
        `  weft against ${other} (same-round median of its CPU ÷ weft's): ${ratio.toFixed(2)}×`,
      );
    }
  }
  return rows;
}

export const cases: Case[] = [
  {
    suite: 'http',
    case: 'GET 1 KiB JSON, 50 in flight',
    unit: `${BATCH} requests`,
    subjects: subjects('/json', 'json'),
    baseline: 'weft',
  },
  {
    suite: 'http',
    case: 'GET 64 KiB body, 50 in flight',
    unit: `${BATCH} requests`,
    subjects: subjects('/64k', 'bytes'),
    baseline: 'weft',
  },
];
