// Tutorial 1, "Timeouts with asyncio.wait_for()": a 10 s operation cut at 2 s.
//
//   asyncio                                          weft
//   await asyncio.wait_for(slow_operation(), 2.0)  →  await timeout(2000, slowOperation)   (@weft/core)
//   except asyncio.TimeoutError:                   →  catch (error) { if (error instanceof TimeoutError) … }
//   (no exception: asyncio.timeout + a flag)       →  await moveOnAfter(2000, slowOperation) → { timedOut, value }
//
// When the time is up, weft aborts the operation's signal with the TimeoutError, waits
// for the operation to finish its cleanup, and only then rejects: the slow operation does
// not keep running after the caller gave up, and no timer is left behind. `moveOnAfter`
// (Trio's move_on_after) does the same without an exception: `{ timedOut: true }`.
import { moveOnAfter, sleep, type TaskContext, TimeoutError, timeout } from '@weft/core';
import { type Example, seconds, TUTORIAL_1 } from '../example.ts';

export const timeouts: Example = {
  number: 10,
  name: 'timeouts',
  title: 'timeouts: a 10 s operation cut at 2 s ("Operation timed out!"), and moveOnAfter',
  section: `${TUTORIAL_1} · "Timeouts with asyncio.wait_for()"`,
  async run({ log, clock }) {
    let start = clock.now();
    let abortedWith: unknown;

    /** An operation that takes 10 seconds. */
    async function slowOperation({ signal }: TaskContext): Promise<string> {
      try {
        await sleep(10_000);
        return 'Finally done!';
      } finally {
        if (signal.aborted) {
          abortedWith = signal.reason;
          log(`  slow operation: signal aborted at ${seconds(clock.now() - start)}, cleanup ran`);
        }
      }
    }

    try {
      const result = await timeout(2000, slowOperation);
      log(result);
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      log('Operation timed out!');
      log(`Stopped at ${seconds(clock.now() - start)}, not 10.0s`);
      log(
        `The operation's signal was aborted with this same TimeoutError: ${abortedWith === error}`,
      );
    }

    // Without an exception: moveOnAfter says whether the time ran out.
    start = clock.now();
    const outcome = await moveOnAfter(2000, slowOperation);
    if (outcome.timedOut) {
      log(`moveOnAfter: gave up at ${seconds(clock.now() - start)}, no exception (timedOut: true)`);
    } else {
      log(outcome.value);
    }

    // An operation that finishes in time returns its value as usual.
    start = clock.now();
    const quick = await timeout(2000, async () => {
      await sleep(500);
      return 'Quick operation done';
    });
    log(`${quick} at ${seconds(clock.now() - start)}`);
  },
};
