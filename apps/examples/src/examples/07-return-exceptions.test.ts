import { expect, test } from 'vitest';
import { collectUnhandled } from '../../../../packages/core/test/helpers.ts';
import { runForTest } from '../testing.ts';
import { returnExceptions } from './07-return-exceptions.ts';

test('settle reports the bad URL as a FAILED value; gather rejects with it and cancels the rest, Promise.all does not', async () => {
  const unhandled = await collectUnhandled(async () => {
    const { lines, virtualMs } = await runForTest(returnExceptions);
    expect(lines).toEqual([
      'https://good.com: Response from https://good.com',
      'https://bad.com: FAILED — Failed to connect to https://bad.com',
      'https://ok.com: Response from https://ok.com',
      // gather: the slow request is cancelled at the first failure, and gather waits for
      // it to stop before rejecting with that first error.
      '  https://slow.com: cancelled at 0.05s',
      'gather: rejected at 0.05s with ConnectionError: Failed to connect to https://bad.com, nothing left running',
      // Promise.all: same rejection, but the slow request runs on to 1.00 s.
      'Promise.all: rejected at 0.05s with ConnectionError: Failed to connect to https://bad.com, https://slow.com still running',
      '  https://slow.com: finished at 1.00s',
    ]);
    // 0.05 s (settle) + 0.05 s (gather, the 1 s request cut short) + 1 s (Promise.all
    // cannot stop it).
    expect(virtualMs).toBe(1100);
  });
  expect(unhandled).toEqual([]);
});
