import { expect, test } from 'vitest';
import { runClean } from './run-clean.ts';
import { semaphoreExample } from './11-semaphore.ts';

test('fetches 10 pages with never more than 3 inside the semaphore, in 4 rounds of 50 ms', async () => {
  const result = await runClean(semaphoreExample);
  expect(result.lines).toEqual([
    'Fetched 10 pages',
    'Peak concurrency: 3 (limit 3)',
    'Took 0.20s: 4 rounds of 0.05s (3 + 3 + 3 + 1 pages)',
    'First: Response from https://api.example.com/page/0',
    'semaphore.run: Response from https://api.example.com/page/9; 3 of 3 permits free afterwards',
  ]);
  // 4 rounds (3 + 3 + 3 + 1) of 50 ms, then one more fetch through run().
  expect(result.virtualMs).toBe(250);
});
