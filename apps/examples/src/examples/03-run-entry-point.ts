// Tutorial 1, "asyncio.run() — The Entry Point": start async code from the top level.
//
//   asyncio                          weft
//   asyncio.run(main())           →  await run(main)              (@weft/core)
//   asyncio.run() inside async    →  run() inside run() throws: await the function instead
//   "cleans up" at the end        →  run() returns only after every task main started has
//                                    settled; when main fails, those tasks are cancelled and
//                                    their cleanup runs before run() rejects
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

    // Rule: it cleans up. A task main started is part of the program: run() waits for it…
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
