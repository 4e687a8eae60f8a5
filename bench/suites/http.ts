// Benchmarks of issue 8: @weft/http against raw fetch (the floor) and its peers, GETting a
// 1 KiB JSON body and a 64 KiB body, 50 requests in flight. The server runs in a child
// process (bench/http-server.mjs). One op is a batch of 500 requests.
import { type ChildProcess, spawn } from 'node:child_process';
import { FetchHttpClient, HttpClient } from '@effect/platform';
import { createClient } from '@weft/http';
import { Effect } from 'effect';
import ky from 'ky';
import { ofetch } from 'ofetch';
import { request } from 'undici';
import type { Case } from '../harness.ts';

const BATCH = 500;
const CONCURRENCY = 50;

let child: ChildProcess | undefined;
let base: Promise<string> | undefined;

/** Starts the server process once, on first use. */
function server(): Promise<string> {
  base ??= new Promise<string>((resolve, reject) => {
    const c = spawn(process.execPath, [new URL('../http-server.mjs', import.meta.url).pathname], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child = c;
    c.once('error', reject);
    c.stdout!.setEncoding('utf8');
    c.stdout!.once('data', (line: string) => resolve(`http://127.0.0.1:${line.trim()}`));
  }).then(async (url) => {
    // Warm the server and the runtime's fetch up, so the first subject measured does not pay for it.
    for (let i = 0; i < 4; i++)
      await batch(() => fetch(`${url}/json`).then((r) => r.arrayBuffer()));
    return url;
  });
  return base as Promise<string>;
}

/** Stops the server process (run.ts calls it at the end). */
export function stop(): void {
  child?.stdin?.end();
  child = undefined;
}

/** `BATCH` calls of `one`, at most `CONCURRENCY` at once (a pool of workers). */
async function batch(one: () => Promise<unknown>): Promise<void> {
  let left = BATCH;
  const worker = async (): Promise<void> => {
    while (left-- > 0) await one();
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

// The defaults: 10 s per attempt, 2 retries, redirects followed by hand.
const weft = createClient();
const effectClient = Effect.runSync(Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer));

function subjects(path: string, as: 'json' | 'bytes'): Case['subjects'] {
  const url = async (): Promise<string> => `${await server()}${path}`;
  return [
    {
      subject: 'weft',
      fn: async () => {
        const u = await url();
        await batch(() => (as === 'json' ? weft.get(u).json() : weft.get(u).bytes()));
      },
    },
    {
      subject: 'fetch (floor)',
      fn: async () => {
        const u = await url();
        await batch(async () => {
          const res = await fetch(u);
          return as === 'json' ? res.json() : res.arrayBuffer();
        });
      },
    },
    {
      subject: 'ky',
      fn: async () => {
        const u = await url();
        await batch(() => (as === 'json' ? ky.get(u).json() : ky.get(u).arrayBuffer()));
      },
    },
    {
      subject: 'ofetch',
      fn: async () => {
        const u = await url();
        await batch(() => (as === 'json' ? ofetch(u) : ofetch(u, { responseType: 'arrayBuffer' })));
      },
    },
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
      subject: '@effect/platform HttpClient (fetch)',
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
  ratioToFetch: number;
}

/**
 * The same subjects, measured another way: CPU time of this process per request, the
 * best of `rounds` rounds in which the subjects take turns. On a shared, loaded machine
 * wall-clock requests/s swing by ±20% between runs; CPU per request moves much less, and
 * taking turns removes the order effects.
 */
export async function cpuPerRequest(rounds = 6): Promise<CpuRow[]> {
  const rows: CpuRow[] = [];
  for (const c of cases) {
    const best = new Map<string, number>();
    for (let round = 0; round < rounds; round++) {
      for (const s of c.subjects) {
        const start = process.cpuUsage();
        await s.fn();
        const used = process.cpuUsage(start);
        const micros = (used.user + used.system) / BATCH;
        best.set(s.subject, Math.min(best.get(s.subject) ?? Number.POSITIVE_INFINITY, micros));
      }
    }
    const floor = best.get('fetch (floor)')!;
    console.log(`\n${c.suite} / ${c.case}: CPU per request, best of ${rounds} interleaved rounds`);
    for (const [subject, micros] of best) {
      rows.push({
        case: c.case,
        subject,
        cpuMicrosPerRequest: micros,
        ratioToFetch: micros / floor,
      });
      console.log(
        `  ${subject.padEnd(36)} ${micros.toFixed(1).padStart(7)} µs  ${(floor / micros).toFixed(2)}× fetch's throughput per CPU`,
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
