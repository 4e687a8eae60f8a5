// Tutorial 1, "asyncio.create_task() — Fire and Collect Later": three downloads started at
// once, other work done meanwhile, results collected later.
//
//   asyncio                                weft
//   task = asyncio.create_task(coro)    →  const task = s.spawn(() => coro)  inside  scope(async (s) => …)
//   result = await task                 →  const result = await task
//   (task state)                        →  task.state: 'running' | 'fulfilled' | 'rejected' | 'cancelled'
//
// The difference is structure. An asyncio task belongs to nobody: if main fails, it keeps
// running (or is destroyed pending at exit). A weft task belongs to the scope that spawned
// it: the scope ends only once its tasks have, and a failure in the scope cancels them
// (the second part below). asyncio's TaskGroup is the same idea.
import { scope, sleep, type Task, unwrapError } from '@weft/core';
import { type Example, seconds2, TUTORIAL_1 } from '../example.ts';

interface Download {
  filename: string;
  sizeMb: number;
  status: string;
}

/** Simulate downloading a file: 10 ms per MB. */
async function downloadFile(filename: string, sizeMb: number): Promise<Download> {
  await sleep(sizeMb * 10);
  return { filename, sizeMb, status: 'done' };
}

export const createTask: Example = {
  number: 5,
  name: 'create-task',
  title: 'create_task: three downloads started, other work meanwhile, results collected later',
  section: `${TUTORIAL_1} · "asyncio.create_task() — Fire and Collect Later"`,
  async run({ log, clock }) {
    let start = clock.now();
    await scope(async (s) => {
      // Start all downloads immediately
      const task1 = s.spawn(() => downloadFile('report.pdf', 5), { name: 'report.pdf' });
      const task2 = s.spawn(() => downloadFile('photo.jpg', 2), { name: 'photo.jpg' });
      const task3 = s.spawn(() => downloadFile('video.mp4', 50), { name: 'video.mp4' });

      // Do other work while files download
      log('Downloads started, doing other work...');
      await sleep(30);
      log(
        `After ${seconds2(clock.now() - start)} of other work: ${[task1, task2, task3].map((t) => `${t.name} ${t.state}`).join(', ')}`,
      );

      // Collect results when you need them
      const result1 = await task1;
      const result2 = await task2;
      const result3 = await task3;

      log(`${result1.filename}: ${result1.status}`);
      log(`${result2.filename}: ${result2.status}`);
      log(`${result3.filename}: ${result3.status}`);
      log(`All collected at ${seconds2(clock.now() - start)} (the longest download), not 0.57s`);
    });

    // When the other work fails, the scope cancels the download still running and waits
    // for it before the error comes out: nothing is left running in the background.
    start = clock.now();
    let video: Task<Download> | undefined;
    try {
      await scope(async (s) => {
        video = s.spawn(() => downloadFile('video.mp4', 50), { name: 'video.mp4' });
        log('Download started, doing other work...');
        await sleep(30);
        throw new Error('disk full');
      });
    } catch (error) {
      log(
        `Other work failed at ${seconds2(clock.now() - start)} (${(unwrapError(error) as Error).message}): video.mp4 ${video?.state}`,
      );
    }
  },
};
