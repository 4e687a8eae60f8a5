// Review D5 of rv-core4: gather/settle/race/any/asCompleted that reject (or throw) for a
// bad option or an iterable that throws must still observe the promise items they were
// given: the caller gets that one error, and no unhandled rejection besides.
import { expect, test } from 'vitest';
import { asCompleted } from '../src/as-completed.ts';
import { gather, settle } from '../src/gather.ts';
import { any, race } from '../src/race.ts';
import { collectUnhandled } from './helpers.ts';

/** A promise that rejects on a later macrotask. */
function rejectLater(message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), 1));
}

const calls: Record<string, (item: Promise<never>) => Promise<unknown>> = {
  'gather with an unknown option': (p) => gather([p], { concurency: 4 } as never),
  'settle with concurrency 0': (p) => settle([p], { concurrency: 0 }),
  'race with an unknown option': (p) => race([p], { bogus: 1 } as never),
  'any with an unknown option': (p) => any([p], { bogus: 1 } as never),
  'asCompleted with an unknown option': async (p) => {
    asCompleted([p], { concurency: 2 } as never);
  },
  'gather over an iterable that throws': (p) =>
    gather(
      (function* () {
        yield p;
        throw new Error('iterable fails');
      })(),
    ),
  'race over an iterable that throws': (p) =>
    race(
      (function* () {
        yield p;
        throw new Error('iterable fails');
      })(),
    ),
  'asCompleted over an iterable that throws': async (p) => {
    asCompleted(
      (function* () {
        yield p;
        throw new Error('iterable fails');
      })(),
    );
  },
};

for (const [name, call] of Object.entries(calls)) {
  test(`${name}: the call rejects, and its promise item's rejection is not unhandled`, async () => {
    let rejected: unknown;
    const unhandled = await collectUnhandled(async () => {
      await call(rejectLater(name)).catch((error: unknown) => {
        rejected = error;
      });
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
    expect(rejected).toBeInstanceOf(Error);
    expect(unhandled).toEqual([]);
  });
}
