// Tutorial 2, "Real-World Example: Async HTTP Requests": three URLs fetched at once with
// one client session, printing each JSON body's keys.
// `async with aiohttp.ClientSession() as session:` → `await using session = createClient(...)`
// (@weft/http); `session.get(url)` + `response.json()` → `session.get(url).json()`;
// asyncio.gather(*tasks) → gather(), or the client's own `getAll(urls)`.
import { gather, systemClock } from '@weft/core';
import { createClient, type HttpClient } from '@weft/http';
import { type Example, TUTORIAL_2 } from '../example.ts';
import { inspect } from './inspect.ts';

type Json = Record<string, unknown>;

async function fetchUrl(session: HttpClient, url: string): Promise<Json> {
  return session.get(url).json<Json>();
}

async function fetchMultipleUrls(urls: string[]): Promise<Json[]> {
  // The network runs on real time, whatever clock the example runs on.
  await using session = createClient({ clock: systemClock });
  const tasks = urls.map((url) => () => fetchUrl(session, url));
  // `return await`: the session closes when the block ends, after the bodies are read.
  return await gather(tasks);
}

export const fetchManyUrls: Example = {
  number: 17,
  name: 'fetch-many-urls',
  title: '/json, /uuid and /headers at once with one client session',
  section: `${TUTORIAL_2} · "Real-World Example: Async HTTP Requests"`,
  upstream: true,
  async run({ log, upstream }) {
    // The tutorial calls https://httpbin.org; the runner serves the same paths on 127.0.0.1.
    const httpbin = upstream();
    const urls = [`${httpbin}/json`, `${httpbin}/uuid`, `${httpbin}/headers`];

    const results = await fetchMultipleUrls(urls);
    for (const [i, result] of results.entries()) {
      log(`URL ${i + 1}: ${inspect(Object.keys(result))}`);
    }

    // The same in one call: the client's getAll (ordered, fail-fast, cancellable).
    await using session = createClient({ clock: systemClock });
    const again = await session.getAll<Json>(urls, { concurrency: 3 });
    log(`getAll: ${again.map((r) => inspect(Object.keys(r))).join(', ')}`);
  },
};
