// Tutorial 2, "Handling Errors in Async Code": three tasks, one fails, every outcome is
// reported. asyncio.gather(..., return_exceptions=True) → settle([...]): one
// `{ status: 'fulfilled', value }` or `{ status: 'rejected', reason }` per task, in input
// order; a failure does not cancel the others. `raise ValueError(...)` → `throw new Error(...)`;
// `isinstance(result, Exception)` → `result.status === 'rejected'`.
import { gather, settle, sleep } from '@weft/core';
import { type Example, TUTORIAL_2 } from '../example.ts';

async function mightFail(name: string, shouldFail: boolean): Promise<string> {
  await sleep(500);
  if (shouldFail) throw new Error(`${name} failed!`);
  return `${name} succeeded`;
}

export const settledErrors: Example = {
  number: 18,
  name: 'settled-errors',
  title: 'mightFail × 3 with settle: failures come back as values',
  section: `${TUTORIAL_2} · "Handling Errors in Async Code"`,
  async run({ log }) {
    // settle catches errors: the gather(return_exceptions=True) of weft.
    const results = await settle([
      () => mightFail('task1', false),
      () => mightFail('task2', true),
      () => mightFail('task3', false),
    ]);

    for (const result of results) {
      if (result.status === 'rejected') {
        log(`Error: ${result.reason instanceof Error ? result.reason.message : result.reason}`);
      } else {
        log(`Success: ${result.value}`);
      }
    }

    // Without return_exceptions (plain gather): the first failure is raised, and the
    // tasks still running are cancelled and awaited before it is.
    try {
      await gather([
        () => mightFail('task1', false),
        () => mightFail('task2', true),
        () => mightFail('task3', false),
      ]);
    } catch (error) {
      log(`Without settle, gather raises: ${error instanceof Error ? error.message : error}`);
    }
  },
};
