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
  base ??= new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [new URL('../http-server.mjs', import.meta.url).pathname], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child = c;
    c.once('error', reject);
    c.stdout!.setEncoding('utf8');
    c.stdout!.once('data', (line: string) => resolve(`http://127.0.0.1:${line.trim()}`));
  });
  return base;
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
