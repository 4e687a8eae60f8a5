// Tutorial 1, "The Problem: Blocking Code": three independent 2 s API calls take 6 s one
// after another, and 2 s at the same time with gather (asyncio.gather).
import { gather, sleep } from '@weft/core';
import { type Example, seconds, TUTORIAL_1 } from '../example.ts';

/** Simulates a slow API call without blocking: other tasks run while it waits. */
async function fetchData(name: string, delay: number): Promise<string> {
  await sleep(delay);
  return `Data from ${name}`;
}

export const blockingCode: Example = {
  number: 1,
  name: 'blocking-code',
  title: 'three 2 s calls: 6 s one after another, 2 s concurrently',
  section: `${TUTORIAL_1} · "The Problem: Blocking Code"`,
  async run({ log, clock }) {
    let start = clock.now();
    await fetchData('API-1', 2000);
    await fetchData('API-2', 2000);
    await fetchData('API-3', 2000);
    log(`Sequential: Total time: ${seconds(clock.now() - start)}`);

    start = clock.now();
    const results = await gather([
      () => fetchData('API-1', 2000),
      () => fetchData('API-2', 2000),
      () => fetchData('API-3', 2000),
    ]);
    log(`Concurrent: Total time: ${seconds(clock.now() - start)}`);
    for (const result of results) log(result);
  },
};
