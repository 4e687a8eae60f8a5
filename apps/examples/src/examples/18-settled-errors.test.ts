import { expect, test } from 'vitest';
import { runClean } from './run-clean.ts';
import { settledErrors } from './18-settled-errors.ts';

test("reports task2's failure as a value while task1 and task3 succeed, all in 0.5 s", async () => {
  const result = await runClean(settledErrors);
  expect(result.lines).toEqual([
    'Success: task1 succeeded',
    'Error: task2 failed!',
    'Success: task3 succeeded',
    'Without settle, gather raises: task2 failed!',
  ]);
  // The three run at once (0.5 s), the failure cancels nothing; then the gather (0.5 s).
  expect(result.virtualMs).toBe(1000);
});
