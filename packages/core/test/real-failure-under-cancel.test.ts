// race, any and settle cancelled from outside while an item fails for real (its cleanup
// throws while being cancelled): the failure is the outcome, never dropped for the
// cancellation, whatever the order of the items (probe8 Q3). gather always did this.
import { describe, expect, test } from 'vitest';
import { isCancellation, suppressedErrors } from '../src/errors.ts';
import { gather, settle } from '../src/gather.ts';
import { any, race } from '../src/race.ts';
import { scope } from '../src/scope.ts';
import { sleep } from '../src/sleep.ts';
import { TestClock } from '../src/test-clock.ts';

let failure = new Error('cleanup failed'); // a fresh one per test (see below)
const failsOnCancel = async ({ signal }: { signal: AbortSignal }): Promise<void> => {
  await sleep(2000, { signal }).catch(() => {
    throw failure;
  });
};
const plain = async ({ signal }: { signal: AbortSignal }): Promise<void> => {
  await sleep(2000, { signal });
};

/** Where `failure` is in what `call` rejected with: itself, or inside its `errors`. */
function holdsFailure(error: unknown): boolean {
  if (error === failure) return true;
  const errors = (error as { errors?: unknown[] }).errors;
  return Array.isArray(errors) && errors.some(holdsFailure);
}

describe('a real failure while the call is cancelled from outside is the outcome (probe8 Q3)', () => {
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['race([fails])', () => race([failsOnCancel])],
    ['race([fails, plain])', () => race([failsOnCancel, plain])],
    ['race([plain, fails])', () => race([plain, failsOnCancel])],
    ['any([fails, plain])', () => any([failsOnCancel, plain])],
    ['settle([fails, plain])', () => settle([failsOnCancel, plain])],
    ['settle([plain, fails])', () => settle([plain, failsOnCancel])],
    ['gather([fails, plain])', () => gather([failsOnCancel, plain])],
  ];
  test.each(calls)('%s', async (name, call) => {
    failure = new Error('cleanup failed');
    const clock = new TestClock({ autoAdvance: true });
    let got: unknown;
    const outcome = await scope(
      async (p) => {
        p.spawn(async () => {
          got = await call().then(
            () => 'fulfilled',
            (error: unknown) => error,
          );
          throw got;
        });
        await sleep(20);
        p.cancel();
      },
      { clock },
    ).catch((error: unknown) => error);
    expect(holdsFailure(got)).toBe(true);
    // The enclosing scope fails with it too: a cancellation it asked for is no failure,
    // the item's cleanup failure is.
    expect(isCancellation(outcome)).toBe(false);
    expect(holdsFailure(outcome)).toBe(true);
    if (got === failure && !name.startsWith('gather')) {
      // The cancellation is attached to the failure, not dropped (gather rejects with its
      // first failure alone, as it always has).
      expect(suppressedErrors(failure).some((e) => isCancellation(e))).toBe(true);
    }
  });
});
