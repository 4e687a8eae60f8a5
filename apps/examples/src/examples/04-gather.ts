// Tutorial 1, "asyncio.gather() — Run Tasks Concurrently": four items processed at once,
// results in input order.
//
//   asyncio                                   weft
//   tasks = [process_item(i) for i in items]  →  items.map((item) => () => processItem(item))
//   await asyncio.gather(*tasks)              →  await gather(tasks)          (@weft/core)
//
// Pass task functions (`() => processItem(item)`), not started promises: gather then runs
// each as a task it can cancel (on the first failure it cancels the rest and waits for
// them; example 7). Results come back in input order whatever order the items finish in.
import { gather, sleep } from '@weft/core';
import { type Example, seconds, seconds2, TUTORIAL_1 } from '../example.ts';

/** Process a single item with simulated delay. */
async function processItem(item: string, delay = 100): Promise<string> {
  await sleep(delay);
  return `Processed: ${item}`;
}

export const gatherExample: Example = {
  number: 4,
  name: 'gather',
  title: 'gather: four items processed at once, results in input order',
  section: `${TUTORIAL_1} · "asyncio.gather() — Run Tasks Concurrently"`,
  async run({ log, clock }) {
    const items = ['item_1', 'item_2', 'item_3', 'item_4'];

    let start = clock.now();
    const tasks = items.map((item) => () => processItem(item));
    const results = await gather(tasks);
    for (const result of results) log(result);
    log(`Total time: ${seconds(clock.now() - start)}, not 0.4s`);

    // Same order as the input, even when the items finish in a different order.
    const delays = [100, 40, 70, 10];
    start = clock.now();
    const mixed = await gather(
      items.map((item, i) => async () => {
        const result = await processItem(item, delays[i]);
        log(`  ${item} finished at ${seconds2(clock.now() - start)}`);
        return result;
      }),
    );
    for (const result of mixed) log(result);
    log(
      `Total time: ${seconds(clock.now() - start)} (the slowest item), not 0.2s (one after another)`,
    );
  },
};
