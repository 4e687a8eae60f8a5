// Tutorial 1, "asyncio.run() — The Entry Point": start async code from the top level.
//
//   asyncio                          weft
//   asyncio.run(main())           →  await run(main)              (@weft/core)
//   asyncio.run() inside async    →  run() inside run() throws: await the function instead
//   "cleans up" when main returns →  asyncio.run() cancels the tasks still pending; weft's
//                                    run() waits for them (structured: nothing outlives it).
//                                    For asyncio's behaviour, main cancels them itself:
//                                    ctx.scope.cancel()
//   "cleans up" when main fails   →  the same in both: the other tasks are cancelled, their
//                                    cleanup runs, then run() rejects with main's error
//
// This example is `topLevel`: the runner does not wrap it in its own run(), so the calls
// below are real top-level run() calls (given the example's clock, so that the waits are
// virtual). Every other example is the `main` of a run() the runner makes for it.
import { run, sleep, type TaskContext } from '@weft/core';
import { type Example, seconds, TUTORIAL_1 } from '../example.ts';

export const runEntryPoint: Example = {
  number: 3,
  name: 'run-entry-point',
  title: 'run(main): the entry point, called once at the top level; it cleans up',
  section: `${TUTORIAL_1} · "asyncio.run() — The Entry Point"`,
  topLevel: true,
  async run({ log, clock }) {
    async function main(): Promise<void> {
      log('Starting...');
      await sleep(1000);
      log('Done!');
    }

    // This is the entry point — call it once at the top level.
    await run(main, { clock });

    // Rule: do not call it inside another async function — use await instead.
    await run(
      async () => {
        try {
          await run(main); // WRONG
        } catch (error) {
          log(`run() inside async code: ${(error as Error).message}`);
        }
        await main(); // RIGHT
      },
      { clock },
    );

    // Rule: it cleans up. Here weft differs from asyncio: a task main started is part of
    // the program, and run() waits for it, where asyncio.run() would cancel it when main
    // returns…
    let start = clock.now();
    await run(
      async ({ scope }: TaskContext) => {
        scope.spawn(
          async () => {
            await sleep(2000);
            log(`background job finished at ${seconds(clock.now() - start)}`);
          },
          { name: 'background job' },
        );
        log('main returns at once');
      },
      { clock },
    );
    log(`run() returned at ${seconds(clock.now() - start)}, with nothing left running`);

    // …so to get asyncio.run()'s behaviour, main cancels what it started before returning
    // (a cancellation the program asks for is not a failure: run() returns normally).
    start = clock.now();
    await run(
      async ({ scope }: TaskContext) => {
        scope.spawn(
          async () => {
            try {
              await sleep(2000);
            } finally {
              log(`background job cancelled at ${seconds(clock.now() - start)}, cleanup ran`);
            }
          },
          { name: 'background job' },
        );
        log('main returns at once and cancels what is left, as asyncio.run() would');
        scope.cancel();
      },
      { clock },
    );
    log(`run() returned at ${seconds(clock.now() - start)}`);

    // …and when main fails, run() cancels what is still running, lets its cleanup finish,
    // and only then rejects with main's error.
    start = clock.now();
    try {
      await run(
        async ({ scope }: TaskContext) => {
          scope.spawn(
            async () => {
              try {
                await sleep(10_000);
              } finally {
                log(`background job cancelled at ${seconds(clock.now() - start)}, cleanup ran`);
              }
            },
            { name: 'background job' },
          );
          await sleep(1000);
          throw new Error('main failed');
        },
        { clock },
      );
    } catch (error) {
      log(`run() rejected at ${seconds(clock.now() - start)}: ${(error as Error).message}`);
    }
  },
};
