import { expect, test } from 'vitest';
import { runClean } from './run-clean.ts';
import { fetchDataExample } from './15-fetch-data.ts';

test('one call takes 1 s; three gathered 2 s calls all start, then all finish, in 2.00s', async () => {
  const result = await runClean(fetchDataExample, { timeline: true });
  expect(result.lines).toEqual([
    'Starting task1...',
    'Finished task1',
    'Result from task1',
    'Starting API call 1...',
    'Starting API call 2...',
    'Starting API call 3...',
    'Finished API call 1',
    'Finished API call 2',
    'Finished API call 3',
    '',
    'All done in 2.00s (not 6s!)',
    "Results: [ 'Result from API call 1', 'Result from API call 2', 'Result from API call 3' ]",
  ]);
  // 1 s for task1, then 2 s for the three together: not 1 + 6.
  expect(result.virtualMs).toBe(3000);
  // The gather's three tasks, each 2.00 s long, side by side.
  expect(result.timeline?.match(/task#\d+ +[ █]+ 2\.00 s fulfilled/g)).toHaveLength(3);
});
