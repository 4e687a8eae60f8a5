// Tutorial 2, "Creating Tasks for More Control": start two jobs, do other work while they
// run, collect their results when needed. asyncio.create_task(coro) → s.spawn(fn) in a
// scope (asyncio's TaskGroup: the scope also waits for any task nobody awaited, and a
// failure cancels the others); `await task1` → `await task1`.
// One difference to know: create_task only schedules the coroutine, so asyncio prints
// "Doing other work..." before the jobs' "Starting" lines; s.spawn starts the task at once
// (like calling an async function), so here the "Starting" lines come first. From the
// first await on, the interleaving is the same.
import { scope, sleep } from '@weft/core';
import { type Example, seconds2, TUTORIAL_2 } from '../example.ts';

export const tasksForControl: Example = {
  number: 16,
  name: 'tasks-for-control',
  title: 'a background job and another job run while main does other work',
  section: `${TUTORIAL_2} · "Creating Tasks for More Control"`,
  async run({ log, clock }) {
    async function fetchData(name: string, delay: number): Promise<string> {
      log(`Starting ${name}...`);
      await sleep(delay * 1000);
      log(`Finished ${name}`);
      return `Result from ${name}`;
    }

    async function mainWithTasks(): Promise<void> {
      const start = clock.now();
      await scope(async (s) => {
        // Create tasks: they start running at once (up to their first await).
        const task1 = s.spawn(() => fetchData('background job', 3), { name: 'background job' });
        const task2 = s.spawn(() => fetchData('another job', 2), { name: 'another job' });

        // Do other work while tasks run.
        log('Doing other work...');
        await sleep(500);
        log('Still working...');

        // Wait for tasks when you need results.
        const result1 = await task1;
        const result2 = await task2;
        log(`Got: ${result1}, ${result2}`);
      });
      log(`(${seconds2(clock.now() - start)}: the longer job's 3 s, not 3 + 2 + 0.5)`);
      log(
        '(asyncio prints "Doing other work..." first: create_task runs a task once main awaits, s.spawn at once)',
      );
    }

    await mainWithTasks();
  },
};
