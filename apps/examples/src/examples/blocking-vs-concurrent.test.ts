import { run, TestClock } from '@weft/core';
import { expect, test } from 'vitest';
import { blockingVsConcurrent } from './blocking-vs-concurrent.ts';

test('prints 6.0s sequential and 2.0s concurrent, like the tutorial', async () => {
  const clock = new TestClock({ autoAdvance: true });
  const lines: string[] = [];
  await run(() => blockingVsConcurrent.run({ log: (l) => lines.push(l), clock, virtual: true }), {
    clock,
    handleSignals: false,
  });
  expect(lines).toEqual([
    'Sequential: Total time: 6.0s',
    'Concurrent: Total time: 2.0s',
    'Data from API-1',
    'Data from API-2',
    'Data from API-3',
  ]);
  expect(clock.pendingTimers).toBe(0);
});
