import { expect, test } from 'vitest';
import { runClean } from './run-clean.ts';
import { semaphoreExample } from './11-semaphore.ts';

test('fetches 10 pages with never more than 3 inside the semaphore, in 4 rounds of 50 ms', async () => {
  const result = await runClean(semaphoreExample, { timeline: true });
  expect(result.lines).toEqual([
    'Fetched 10 pages',
    'Peak concurrency: 3 (limit 3)',
    'Took 0.20s: 4 rounds of 0.05s (3 + 3 + 3 + 1 pages)',
    'First: Response from https://api.example.com/page/0',
    'semaphore.run: Response from https://api.example.com/page/9; 3 of 3 permits free afterwards',
  ]);
  // 4 rounds (3 + 3 + 3 + 1) of 50 ms, then one more fetch through run().
  expect(result.virtualMs).toBe(250);
  // Core's own record of the ten gathered tasks (each bar counts from the start, waiting
  // included): three done at 50 ms, three at 100, three at 150, the last at 200.
  const ends = [...(result.timeline ?? '').matchAll(/task#\d+ +█+ +(\d+) ms fulfilled/g)].map((m) =>
    Number(m[1]),
  );
  expect(ends).toEqual([50, 50, 50, 100, 100, 100, 150, 150, 150, 200]);
});
