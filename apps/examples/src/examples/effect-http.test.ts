import { run, TestClock } from '@weft/core';
import { expect, test } from 'vitest';
import { effectHttp } from './effect-http.ts';

test('fetches JSON through Effect HttpClient backed by weft, which retries the first 503', async () => {
  const clock = new TestClock({ autoAdvance: true });
  const lines: string[] = [];
  await run(() => effectHttp.run({ log: (l) => lines.push(l), clock, virtual: true }), {
    clock,
    handleSignals: false,
  });
  expect(lines).toEqual([
    'service: call 1 -> 503',
    'service: call 2 -> 200',
    'effect: {"id":42,"name":"widget","inStock":3}',
  ]);
  expect(clock.pendingTimers).toBe(0);
});
