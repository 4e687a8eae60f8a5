// Tutorial 2, "Basic Syntax" and "Running Multiple Tasks Concurrently": a coroutine that
// prints when it starts and finishes, awaited alone, then three of them gathered: 2 s, not
// 6 s. `async def` → `async function`; `await fetch_data(...)` → `await fetchData(...)`;
// asyncio.sleep(delay) → sleep(delay * 1000); asyncio.gather(a, b, c) → gather([a, b, c])
// with task functions; time.time() → the run's clock (virtual here, so times are exact).
import { gather, sleep } from '@weft/core';
import { type Example, seconds2, TUTORIAL_2 } from '../example.ts';
import { inspect } from './inspect.ts';

export const fetchDataExample: Example = {
  number: 15,
  name: 'fetch-data',
  title: 'fetchData with Starting/Finished lines; three 2 s calls gathered in 2.00s',
  section: `${TUTORIAL_2} · "Basic Syntax" + "Running Multiple Tasks Concurrently"`,
  async run({ log, clock }) {
    // Define an async function (a coroutine in Python). `delay` is in seconds, as there.
    async function fetchData(name: string, delay: number): Promise<string> {
      log(`Starting ${name}...`);
      await sleep(delay * 1000); // Simulates I/O operation
      log(`Finished ${name}`);
      return `Result from ${name}`;
    }

    // Run a single coroutine.
    const result = await fetchData('task1', 1);
    log(result);

    async function main(): Promise<void> {
      const start = clock.now();

      // Run tasks concurrently with gather.
      const results = await gather([
        () => fetchData('API call 1', 2),
        () => fetchData('API call 2', 2),
        () => fetchData('API call 3', 2),
      ]);

      const elapsed = clock.now() - start;
      log(''); // the tutorial's "\n"
      log(`All done in ${seconds2(elapsed)} (not 6s!)`);
      log(`Results: ${inspect(results)}`);
    }

    await main();
  },
};
