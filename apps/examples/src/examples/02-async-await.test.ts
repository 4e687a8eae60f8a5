import { expect, test } from 'vitest';
import { collectUnhandled } from '../../../../packages/core/test/helpers.ts';
import { runForTest } from '../testing.ts';
import { asyncAwait } from './02-async-await.ts';

test('awaited calls print the greetings; a call without await is a pending Promise that runs anyway', async () => {
  const unhandled = await collectUnhandled(async () => {
    const { lines, virtualMs } = await runForTest(asyncAwait);
    expect(lines).toEqual([
      'Hello, Alex!',
      'Hello, Alex! Welcome!',
      'Without await: [object Promise] (pending)',
      'Why: an async function returns a Promise at once and runs on; await waits for its result',
      '0.1s later, never awaited: fulfilled',
      'Awaited now: Hello, Alex! (no extra wait: 0.1s since the call)',
    ]);
    // 0.1 s per awaited greeting, then 0.1 s of other work during which the un-awaited
    // call finished: 0.3 s, not the 0.4 s a lazily started coroutine would take.
    expect(virtualMs).toBe(300);
  });
  expect(unhandled).toEqual([]);
});
