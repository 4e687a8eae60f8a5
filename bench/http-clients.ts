// One GET with each fetch-based client the HTTP benchmarks compare (issue 8), shared by
// suites/http.ts (Node, with undici's `request` and @effect/platform besides) and
// http-runtimes.ts (the same comparison on Node, Bun and Deno). Only standard `fetch`
// and packages that run on all three are imported here.
import { type ChildProcess, spawn } from 'node:child_process';
import { createClient } from '@weft/http';
import ky from 'ky';
import { ofetch } from 'ofetch';

export const FLOOR = 'fetch (floor)';
export const SIGNAL = 'fetch + AbortSignal';
export const AS_WEFT = 'fetch as weft calls it';
export const OFETCH_TIMEOUT = 'ofetch (timeout 10 s)';

/** How the body is read: parsed JSON, or raw bytes. */
export type As = 'json' | 'bytes';

// The defaults: 10 s per attempt, 2 retries, redirects followed by hand.
const weft = createClient();
// ofetch as weft and ky are by default: with a 10 s timeout (then it gives fetch a fresh
// signal per request; its timeout ends when the headers arrive, the body is not covered).
const ofetchTimeout = ofetch.create({ timeout: 10_000 });

/** Each client's one request for `url`, reading the body `as` asked, by subject name. */
export function clients(as: As): Record<string, (url: string) => Promise<unknown>> {
  const json = as === 'json';
  return {
    weft: (u) => (json ? weft.get(u).json() : weft.get(u).bytes()),
    [FLOOR]: async (u) => {
      const res = await fetch(u);
      return json ? res.json() : res.arrayBuffer();
    },
    // What any client that can cancel a request in flight pays on top of the floor: a
    // fresh AbortSignal per request (Node's fetch follows it with a WeakRef, a
    // FinalizationRegistry entry and an abort listener).
    [SIGNAL]: async (u) => {
      const res = await fetch(u, { signal: new AbortController().signal });
      return json ? res.json() : res.arrayBuffer();
    },
    // The floor for a client that can cancel a request waiting for headers and follows
    // redirects itself: fetch given what weft gives it (a fresh signal, `redirect:
    // 'manual'`, and for `.json()` a fresh `{ accept: 'application/json' }` object, as
    // weft passes it: a shared `Headers` is ~5k instructions cheaper for Node's fetch to
    // copy, but weft cannot share one, see the README). weft's own work is the difference
    // between this row and weft's.
    [AS_WEFT]: async (u) => {
      const res = await fetch(u, {
        signal: new AbortController().signal,
        redirect: 'manual',
        headers: json ? { accept: 'application/json' } : undefined,
      });
      return json ? res.json() : res.arrayBuffer();
    },
    ky: (u) => (json ? ky.get(u).json() : ky.get(u).arrayBuffer()),
    ofetch: (u) => (json ? ofetch(u) : ofetch(u, { responseType: 'arrayBuffer' })),
    [OFETCH_TIMEOUT]: (u) =>
      json ? ofetchTimeout(u) : ofetchTimeout(u, { responseType: 'arrayBuffer' }),
  };
}

/**
 * The steps from raw `fetch` to weft for the GET of 1 KiB of JSON (`pnpm
 * bench:http-runtimes --floor`): what each thing weft asks of `fetch` costs by itself,
 * "`fetch` as weft calls it" with all of them, the same reading the body as weft does,
 * and weft. The gap between the last two is weft's own work.
 */
export function floorSteps(): Record<string, (url: string) => Promise<unknown>> {
  const all = clients('json');
  return {
    [FLOOR]: all[FLOOR]!,
    '+ a fresh AbortSignal': async (u) =>
      (await fetch(u, { signal: new AbortController().signal })).json(),
    '+ accept header': async (u) =>
      (await fetch(u, { headers: { accept: 'application/json' } })).json(),
    "+ redirect: 'manual'": async (u) => (await fetch(u, { redirect: 'manual' })).json(),
    [AS_WEFT]: all[AS_WEFT]!,
    // weft reads `.json()` as text, then parses: a ParseError carries the text, and an
    // empty body gives `undefined`.
    [`${AS_WEFT}, text + JSON.parse`]: async (u) => {
      const res = await fetch(u, {
        signal: new AbortController().signal,
        redirect: 'manual',
        headers: { accept: 'application/json' },
      });
      return JSON.parse(await res.text());
    },
    weft: all.weft!,
  };
}

/** `count` calls of `one`, at most `concurrency` at once (a pool of workers). */
export async function pool(
  count: number,
  concurrency: number,
  one: () => Promise<unknown>,
): Promise<void> {
  let left = count;
  const worker = async (): Promise<void> => {
    while (left-- > 0) await one();
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * Starts the benchmark server (bench/http-server.mjs) in its own Node process; resolves
 * with its base URL. End the process's stdin to stop it.
 */
export function startServer(): { process: ChildProcess; url: Promise<string> } {
  const c = spawn(process.execPath, [new URL('./http-server.mjs', import.meta.url).pathname], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = new Promise<string>((resolve, reject) => {
    c.once('error', reject);
    c.stdout!.setEncoding('utf8');
    c.stdout!.once('data', (line: string) => resolve(`http://127.0.0.1:${line.trim()}`));
  });
  return { process: c, url };
}
