// Tutorial 2, "Running Async from Sync Code": starting async code from a regular script.
// asyncio.run(main()) → run(main); the "more control" of
// loop = asyncio.get_event_loop(); loop.run_until_complete(main()) → run(main, options)
// (signal, timeout, clock, name, handleSignals); the notebook's top-level `await main()`
// → top-level await in an ES module (no run(): no root scope, no Ctrl-C handling).
import { AsyncLocalStorage } from 'node:async_hooks';
import { CancelledError, run, sleep } from '@weft/core';
import { type Example, seconds2, TUTORIAL_2 } from '../example.ts';

// The runner runs each example inside a run() of its own, and run() inside run() is
// refused (example 14). A script's top level is outside any run(): this snapshot, taken
// when the module is loaded, calls a function in that outside context, so the run() calls
// below are real top-level runs, exactly as in a script.
const atTopLevel = AsyncLocalStorage.snapshot();

export const runFromSync: Example = {
  number: 19,
  name: 'run-from-sync',
  title: 'run() from a plain script, top-level await in a module, run() with options',
  section: `${TUTORIAL_2} · "Running Async from Sync Code"`,
  async run({ log, clock }) {
    async function main(): Promise<string> {
      try {
        await sleep(1000);
        return 'Result from main';
      } catch (error) {
        log('  main: cancelled, cleanup ran'); // a `finally` or `catch` runs on cancellation
        throw error;
      }
    }
    let started = clock.now();
    const since = (): string => seconds2(clock.now() - started);

    log('In a regular script: asyncio.run(main()) → run(main)');
    // A .js/.ts file without top-level await: run() returns a promise; `.then` (or
    // `.catch`) is where the script goes on. The clock is the example's (virtual) one.
    await atTopLevel(() =>
      run(main, { clock }).then((result) => log(`  run(main): ${result}, after ${since()}`)),
    );

    log('For more control (loop.run_until_complete): run(main, options)');
    started = clock.now();
    await atTopLevel(() =>
      run(main, { clock, timeout: 500 }).catch((error: Error) =>
        log(`  run(main, { timeout: 500 }): ${error.name} after ${since()}`),
      ),
    );
    started = clock.now();
    const controller = new AbortController();
    // What Ctrl-C does to a run(): abort its root scope. Here an ordinary signal does it.
    const stop = clock
      .sleep(250)
      .then(() => controller.abort(new CancelledError('stopped, as Ctrl-C would')));
    await atTopLevel(() =>
      run(main, { clock, signal: controller.signal }).catch((error: Error) =>
        log(`  run(main, { signal }): ${error.name} (${error.message}) after ${since()}`),
      ),
    );
    await stop;

    log('In a notebook or an ES module: top-level await');
    started = clock.now();
    // `await main()` at the top of a module: fine for a quick script, but nothing
    // cancels it on Ctrl-C and nothing waits for tasks it leaves behind.
    const result = await main();
    log(`  await main(): ${result}, after ${since()}`);

    log('What run() adds to a bare top-level await:');
    log('  Ctrl-C (SIGINT) or SIGTERM cancels main and every task it started; cleanup runs');
    log(
      '  then run() rejects with a CancelledError and sets the exit code: 130 (SIGINT), 143 (SIGTERM)',
    );
    log('  a second Ctrl-C exits at once');
    log('  it returns only when every task main started has settled');
    log('  run() inside run() throws: await the function there instead');
  },
};
