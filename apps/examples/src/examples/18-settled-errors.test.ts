import { expect, test } from 'vitest';
import { runClean } from './run-clean.ts';
import { settledErrors } from './18-settled-errors.ts';

test("reports task2's failure as a value while task1 and task3 succeed, all in 0.5 s", async () => {
  const result = await runClean(settledErrors);
  expect(result.lines).toEqual([
    'Success: task1 succeeded',
    'Error: task2 failed!',
    'Success: task3 succeeded',
  ]);
  // The three run at once; the failure cancels nothing.
  expect(result.virtualMs).toBe(500);
});
