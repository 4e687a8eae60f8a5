// Tutorial 1, "async def and await": an async function is awaited for its result.
//
//   asyncio                          weft / TypeScript
//   async def greet(...)          →  async function greet(...): Promise<string>
//   await asyncio.sleep(0.1)      →  await sleep(100)            (@weft/core, milliseconds)
//   await greet("Alex")           →  await greet('Alex')
//   greet("Alex")  (no await)     →  greet('Alex') is a Promise, already running
//
// The one real difference is the call without `await`. Python's `greet("Alex")` makes a
// coroutine object that does nothing until it is awaited (and Python warns "coroutine
// 'greet' was never awaited"). A JavaScript async function starts at once: the call runs
// its body up to the first `await` and returns a pending Promise for the result. The work
// goes on whether or not anyone awaits it, and nothing warns at run time. Tools catch part
// of it: TypeScript types `result` as `Promise<string>`, so using it as the string it was
// meant to be (`log(result)`, `result.length`) is a type error, and ESLint's
// `no-floating-promises` reports a call used as a bare statement (`greet('Alex');`,
// example 14). A Promise stored in a variable and only printed, as below, passes both.
// If such a Promise fails unobserved, the rejection is unhandled. So: always `await` (or
// hand the Promise to `gather` / a scope).
import { sleep } from '@weft/core';
import { type Example, seconds, TUTORIAL_1 } from '../example.ts';

/** A simple async function. */
async function greet(name: string): Promise<string> {
  await sleep(100); // Simulate some async work
  return `Hello, ${name}!`;
}

/** Call another async function. */
async function getFullGreeting(name: string): Promise<string> {
  const greeting = await greet(name);
  return `${greeting} Welcome!`;
}

/** Whether a promise has settled yet, without waiting for it (a test of the Promise). */
async function promiseState(promise: Promise<unknown>): Promise<string> {
  const pending = Symbol('pending');
  return Promise.race([promise, Promise.resolve(pending)]).then(
    (value) => (value === pending ? 'pending' : 'fulfilled'),
    () => 'rejected',
  );
}

export const asyncAwait: Example = {
  number: 2,
  name: 'async-await',
  title: 'greet / getFullGreeting, and what a call without await returns',
  section: `${TUTORIAL_1} · "async def and await"`,
  async run({ log, clock }) {
    // RIGHT — await the call (the tutorial runs each with asyncio.run; here the runner's
    // run() is already the entry point: example 3).
    log(await greet('Alex')); // Hello, Alex!
    log(await getFullGreeting('Alex')); // Hello, Alex! Welcome!

    // WRONG — without await, the result is a Promise, not the greeting.
    const result = greet('Alex'); // Missing await!
    log(`Without await: ${String(result)} (${await promiseState(result)})`);
    log('Why: an async function returns a Promise at once and runs on; await waits for its result');

    // …and unlike a Python coroutine it is already running: after 0.1 s of other work it
    // has finished, although nobody awaited it.
    const calledAt = clock.now();
    await sleep(100); // other work
    log(`0.1s later, never awaited: ${await promiseState(result)}`);
    log(
      `Awaited now: ${await result} (no extra wait: ${seconds(clock.now() - calledAt)} since the call)`,
    );
  },
};
