// Tutorial 1, "Rate Limiting with Semaphore": ten page fetches, at most three at once.
// asyncio.Semaphore(3) → new Semaphore(3); `async with semaphore:` → `await using _permit =
// await semaphore.acquire()` (or `semaphore.run(fn)`); asyncio.gather(*tasks) → gather().
import { gather, Semaphore, sleep } from '@weft/core';
import { type Example, seconds2, TUTORIAL_1 } from '../example.ts';

/** How many fetches are inside the semaphore now, and the most there ever were. */
interface Occupancy {
  inside: number;
  peak: number;
}

/** Fetches a URL with rate limiting: the semaphore is the bouncer at the door. */
async function fetchUrl(url: string, semaphore: Semaphore, seen: Occupancy): Promise<string> {
  // Released when the block ends, however it ends (return, throw, cancellation).
  await using _permit = await semaphore.acquire();
  // Only 3 tasks can be inside this block at once.
  seen.inside++;
  seen.peak = Math.max(seen.peak, seen.inside);
  try {
    await sleep(50); // Simulate network request
    return `Response from ${url}`;
  } finally {
    seen.inside--;
  }
}

export const semaphoreExample: Example = {
  number: 11,
  name: 'semaphore',
  title: 'ten pages, at most three at once: Semaphore(3)',
  section: `${TUTORIAL_1} · "Rate Limiting with Semaphore"`,
  async run({ log, clock }) {
    const urls = Array.from({ length: 10 }, (_, i) => `https://api.example.com/page/${i}`);
    const start = clock.now();

    // Allow max 3 concurrent requests.
    const semaphore = new Semaphore(3);
    const seen: Occupancy = { inside: 0, peak: 0 };
    const tasks = urls.map((url) => () => fetchUrl(url, semaphore, seen));
    const results = await gather(tasks);

    log(`Fetched ${results.length} pages`);
    log(`Peak concurrency: ${seen.peak} (limit 3)`);
    log(`Took ${seconds2(clock.now() - start)}: 4 rounds of 0.05s (3 + 3 + 3 + 1 pages)`);
    log(`First: ${results[0]}`);

    // The same limit without naming the permit: run() takes one, calls fn, releases it.
    const page = await semaphore.run(async () => {
      await sleep(50);
      return `Response from ${urls[9]}`;
    });
    log(`semaphore.run: ${page}; ${semaphore.available} of 3 permits free afterwards`);
  },
};
