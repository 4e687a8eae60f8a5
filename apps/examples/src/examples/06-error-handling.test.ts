import { expect, test } from 'vitest';
import { collectUnhandled } from '../../../../packages/core/test/helpers.ts';
import { runForTest } from '../testing.ts';
import { ConnectionError, errorHandling, riskyFetch } from './06-error-handling.ts';
import { run, TestClock } from '@weft/core';

test('safeFetch prints the connection error and returns null; a timeout is not swallowed', async () => {
  const unhandled = await collectUnhandled(async () => {
    const { lines, virtualMs } = await runForTest(errorHandling);
    expect(lines).toEqual([
      'Error: Failed to connect to https://bad.example.com',
      'null',
      'Response from https://good.example.com',
      'TimeoutError at 0.02s: passed through safeFetch, not turned into null',
    ]);
    expect(virtualMs).toBe(120);
  });
  expect(unhandled).toEqual([]);
});

test('riskyFetch fails with a typed ConnectionError naming the URL', async () => {
  const error = await run(() => riskyFetch('https://bad.com').catch((e: unknown) => e), {
    clock: new TestClock({ autoAdvance: true }),
  });
  expect(error).toBeInstanceOf(ConnectionError);
  expect(error).toMatchObject({
    name: 'ConnectionError',
    url: 'https://bad.com',
    message: 'Failed to connect to https://bad.com',
  });
});
