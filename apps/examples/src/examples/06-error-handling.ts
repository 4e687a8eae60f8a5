// Tutorial 1, "Error Handling in Async Code · Try/Except in Async Functions": errors in
// async code are caught with try/catch, exactly as in sync code.
//
//   asyncio                               weft / TypeScript
//   raise ConnectionError(...)         →  throw new ConnectionError(url)   (a typed Error class)
//   try: await …                       →  try { await … }
//   except ConnectionError as e:       →  catch (error) { if (!(error instanceof ConnectionError)) throw error; … }
//   return None                        →  return null
//
// JavaScript's catch takes every error, so `safeFetch` checks the class and rethrows
// what it does not handle. That matters more with weft than in sync code: a timeout or
// a cancellation arrives as an error too (TimeoutError, CancelledError), and turning it
// into `null` would hide it. The last part shows a timeout passing through safeFetch.
import { sleep, TimeoutError, timeout } from '@weft/core';
import { type Example, seconds2, TUTORIAL_1 } from '../example.ts';

/** A connection that could not be made: JavaScript's counterpart of Python's built-in. */
export class ConnectionError extends Error {
  override readonly name: string = 'ConnectionError';
  /** The address that could not be reached. */
  readonly url: string;

  constructor(url: string, options?: ErrorOptions) {
    super(`Failed to connect to ${url}`, options);
    this.url = url;
  }
}

/** A fetch that might fail: 50 ms, then a `ConnectionError` for any URL with "bad" in it. */
export async function riskyFetch(url: string): Promise<string> {
  await sleep(50);
  if (url.includes('bad')) throw new ConnectionError(url);
  return `Response from ${url}`;
}

export const errorHandling: Example = {
  number: 6,
  name: 'error-handling',
  title: 'try/catch in async code: safeFetch returns null on a ConnectionError',
  section: `${TUTORIAL_1} · "Error Handling in Async Code" · "Try/Except in Async Functions"`,
  async run({ log, clock }) {
    /** Fetch with error handling. */
    async function safeFetch(url: string): Promise<string | null> {
      try {
        return await riskyFetch(url);
      } catch (error) {
        if (!(error instanceof ConnectionError)) throw error; // not ours to handle
        log(`Error: ${error.message}`);
        return null;
      }
    }

    const result = await safeFetch('https://bad.example.com');
    log(String(result)); // null
    log(String(await safeFetch('https://good.example.com')));

    // A timeout is not a connection error: safeFetch lets it through instead of
    // returning null, and the caller learns what really happened.
    const start = clock.now();
    try {
      await timeout(20, () => safeFetch('https://slow.example.com'));
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      log(
        `${error.name} at ${seconds2(clock.now() - start)}: passed through safeFetch, not turned into null`,
      );
    }
  },
};
