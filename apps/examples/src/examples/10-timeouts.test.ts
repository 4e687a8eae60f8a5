import { expect, test } from 'vitest';
import { collectUnhandled } from '../../../../packages/core/test/helpers.ts';
import { runForTest } from '../testing.ts';
import { timeouts } from './10-timeouts.ts';

test('cuts the 10 s operation at 2.0 s with "Operation timed out!", aborting its signal; moveOnAfter gives up without throwing', async () => {
  const unhandled = await collectUnhandled(async () => {
    const { lines, virtualMs } = await runForTest(timeouts);
    expect(lines).toEqual([
      // The operation's cleanup runs before timeout() rejects.
      '  slow operation: signal aborted at 2.0s, cleanup ran',
      'Operation timed out!',
      'Stopped at 2.0s, not 10.0s',
      "The operation's signal was aborted with this same TimeoutError: true",
      '  slow operation: signal aborted at 2.0s, cleanup ran',
      'moveOnAfter: gave up at 2.0s, no exception (timedOut: true)',
      'Quick operation done at 0.5s',
    ]);
    expect(lines).not.toContain('Finally done!');
    // 2 s + 2 s + 0.5 s: neither 10 s sleep was waited out (and runForTest fails if
    // either left its timer pending).
    expect(virtualMs).toBe(4500);
  });
  expect(unhandled).toEqual([]);
});
