// `await using` wraps an error thrown by a disposer while the block is already throwing
// in a SuppressedError. A disposer that waits inside `shield` re-raises the cancellation
// it was shielded from, so a block unwinding from a cancellation ends with
// SuppressedError(cancellation, cancellation): still that cancellation, never a failure.
import { expect, test } from 'vitest';
import {
  CancelledError,
  isCancellation,
  scope,
  shield,
  sleep,
  TaskGroupError,
  TestClock,
  TimeoutError,
  timeout,
} from '../src/index.ts';

/** What `await using` builds (lowered or native: same name and fields). */
function suppressed(error: unknown, suppressedError: unknown): Error {
  const err = new Error('An error was suppressed during disposal.') as Error & {
    error: unknown;
    suppressed: unknown;
  };
  err.name = 'SuppressedError';
  err.error = error;
  err.suppressed = suppressedError;
  return err;
}

/** A resource whose async disposer waits `ms` inside shield (cleanup that must finish). */
function resource(ms: number, log: string[]): AsyncDisposable {
  return {
    async [Symbol.asyncDispose]() {
      // shield finishes the wait, then re-raises the cancellation it was shielded from.
      await shield(async () => {
        await sleep(ms);
        log.push('disposed');
      });
    },
  };
}

test('isCancellation: a SuppressedError of two cancellations is one; with a real error on either side it is not', () => {
  const c = new CancelledError('stop');
  const boom = new Error('boom');
  expect(isCancellation(suppressed(c, c))).toBe(true);
  expect(isCancellation(suppressed(c, suppressed(c, c)))).toBe(true);
  expect(isCancellation(suppressed(boom, c))).toBe(false);
  expect(isCancellation(suppressed(c, boom))).toBe(false);
  expect(isCancellation(suppressed(c, undefined))).toBe(false);
});

test('timeout: a block whose disposer re-raises the timeout after a shielded wait rejects with the TimeoutError itself', async () => {
  const clock = new TestClock({ autoAdvance: true });
  const log: string[] = [];
  const outcome = await timeout(
    15,
    async () => {
      await using _res = resource(10, log);
      await sleep(100);
    },
    { clock },
  ).then(
    () => 'fulfilled',
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(TimeoutError);
  expect(log).toEqual(['disposed']);
  expect(clock.now()).toBe(25);
});

test('scope: a sibling cancelled while its disposer shields is cancelled, so the group holds only the real failure', async () => {
  const clock = new TestClock({ autoAdvance: true });
  const log: string[] = [];
  const boom = new Error('boom');
  const outcome = await scope(
    async (s) => {
      s.spawn(async () => {
        await using _res = resource(10, log);
        await sleep(1000);
      });
      s.spawn(async () => {
        await sleep(5);
        throw boom;
      });
    },
    { clock },
  ).then(
    () => 'fulfilled',
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(TaskGroupError);
  expect((outcome as TaskGroupError).errors).toEqual([boom]);
  expect(log).toEqual(['disposed']);
});

test('a real error thrown by a disposer during a cancellation is still a failure, never swallowed', async () => {
  const clock = new TestClock({ autoAdvance: true });
  const broken = new Error('disposer broke');
  const outcome = await timeout(
    15,
    async () => {
      await using _res = {
        async [Symbol.asyncDispose]() {
          throw broken;
        },
      };
      await sleep(100);
    },
    { clock },
  ).then(
    () => 'fulfilled',
    (err: unknown) => err,
  );
  const text = `${(outcome as Error).name}`;
  expect(text).not.toBe('fulfilled');
  expect(outcome).not.toBeInstanceOf(TimeoutError);
});
