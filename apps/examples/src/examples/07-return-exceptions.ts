// Tutorial 1, "Error Handling in Async Code · gather with return_exceptions": collect every
// result, the failures as values.
//
//   asyncio                                            weft
//   await asyncio.gather(*tasks, return_exceptions=True)  →  await settle(tasks)
//   isinstance(result, Exception)                      →  result.status === 'rejected' (result.reason)
//   result (a value)                                   →  result.value
//   await asyncio.gather(*tasks)  # raises             →  await gather(tasks)  # rejects, and cancels the rest
//
// Without return_exceptions both raise the first error. They differ in what happens to
// the others: asyncio.gather (like Promise.all) leaves them running, unowned; weft's
// gather cancels them and waits for them to stop before it rejects, so no work outlives
// the call that started it. The second and third parts show the two side by side.
import { gather, settle, sleep, type TaskContext } from '@weft/core';
import { type Example, seconds2, TUTORIAL_1 } from '../example.ts';
import { riskyFetch } from './06-error-handling.ts';

export const returnExceptions: Example = {
  number: 7,
  name: 'return-exceptions',
  title: 'return_exceptions: settle reports the failure as a value; gather cancels the rest',
  section: `${TUTORIAL_1} · "Error Handling in Async Code" · "gather with return_exceptions"`,
  async run({ log, clock }) {
    const urls = ['https://good.com', 'https://bad.com', 'https://ok.com'];
    const tasks = urls.map((url) => () => riskyFetch(url));

    // With settle — collects errors as values
    const results = await settle(tasks);
    urls.forEach((url, i) => {
      const result = results[i]!;
      if (result.status === 'rejected') {
        log(`${url}: FAILED — ${(result.reason as Error).message}`);
      } else {
        log(`${url}: ${result.value}`);
      }
    });

    // Without settle — rejects with the first error. A slow request still in flight
    // shows what becomes of the others.
    let start = clock.now();
    const at = (): string => seconds2(clock.now() - start);
    async function slowFetch(url: string, signal?: AbortSignal): Promise<string> {
      try {
        await sleep(1000, { signal });
        return `Response from ${url}`;
      } finally {
        log(`  ${url}: ${signal?.aborted ? 'cancelled' : 'finished'} at ${at()}`);
      }
    }
    const withSlow = [
      () => riskyFetch('https://good.com'),
      () => riskyFetch('https://bad.com'),
      ({ signal }: TaskContext) => slowFetch('https://slow.com', signal),
    ];
    try {
      await gather(withSlow);
    } catch (error) {
      log(`gather: rejected at ${at()} with ${String(error)}, nothing left running`);
    }

    // Promise.all (which is what asyncio.gather does here) rejects just as early, but
    // leaves the slow request running: it finishes long after the caller gave up.
    start = clock.now();
    const running = [
      riskyFetch('https://good.com'),
      riskyFetch('https://bad.com'),
      slowFetch('https://slow.com'),
    ];
    try {
      await Promise.all(running);
    } catch (error) {
      log(`Promise.all: rejected at ${at()} with ${String(error)}, https://slow.com still running`);
    }
    await running[2]; // a program has to remember to wait for it (or leak it)
  },
};
