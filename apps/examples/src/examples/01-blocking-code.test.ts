import { expect, test } from 'vitest';
import { runForTest } from '../testing.ts';
import { blockingCode } from './01-blocking-code.ts';

test('prints 6.0s sequential and 2.0s concurrent, like the tutorial, in 6 s of virtual time', async () => {
  const result = await runForTest(blockingCode, { timeline: true });
  expect(result.lines).toEqual([
    'Sequential: Total time: 6.0s',
    'Concurrent: Total time: 2.0s',
    'Data from API-1',
    'Data from API-2',
    'Data from API-3',
  ]);
  expect(result.virtualMs).toBe(8000);
  // The three gathered calls overlap: three task bars in the timeline.
  expect(result.timeline?.match(/fulfilled/g)?.length).toBeGreaterThanOrEqual(3);
});
