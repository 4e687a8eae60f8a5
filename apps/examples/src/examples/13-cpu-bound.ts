// Tutorial 1, "When to Use Async vs Threading vs Multiprocessing": CPU-bound work blocks
// the event loop, however `async` the function around it is; the fix is another thread.
// concurrent.futures.ProcessPoolExecutor / ThreadPoolExecutor → runInWorker() and
// WorkerPool (@weft/core: worker_threads on Node, Web Workers on Bun, child processes on Deno).
import { gather, runInWorker, scope, sleep, WorkerPool } from '@weft/core';
import type { Example } from '../example.ts';
import { TUTORIAL_1 } from '../example.ts';
import { fib } from './13-cpu-work.ts';

const work = new URL('./13-cpu-work.ts', import.meta.url);

/**
 * A few tenths of a second of pure CPU on one core: long enough to be felt, and long
 * enough that a free event loop gets many heartbeat ticks in while a worker computes it,
 * even on a busy machine.
 */
const N = 36;

export const cpuBound: Example = {
  number: 13,
  name: 'cpu-bound',
  title: 'CPU-bound work blocks the loop; in a worker it does not',
  section: `${TUTORIAL_1} · "When to Use Async vs Threading vs Multiprocessing"`,
  // Blocking is about real time: a virtual clock cannot show a loop that does not run.
  realTime: true,
  async run({ log }) {
    await scope(async (s) => {
      // A heartbeat: a task that wants to run every 5 ms, as a server's other requests do.
      let ticks = 0;
      const heartbeat = s.spawn(
        async () => {
          for (;;) {
            await sleep(5);
            ticks++;
          }
        },
        { name: 'heartbeat' },
      );
      await sleep(20);

      // 1. On the event loop: nothing else runs until fib returns.
      let before = ticks;
      const onLoop = fib(N);
      log(`fib(${N}) = ${onLoop}, computed on the event loop`);
      log(`heartbeat ticks while blocked: ${ticks - before}`);

      // 2. In a worker thread: the loop stays free, the heartbeat keeps ticking.
      before = ticks;
      const inWorker = await runInWorker<number>(work, 'fib', [N]);
      log(`fib(${N}) = ${inWorker}, computed in a worker (runInWorker)`);
      log(`loop stayed responsive: ${ticks - before > 0 ? 'yes' : 'no'}`);

      // 3. Several at once on several cores (the tutorial's multiprocessing): a pool.
      await using pool = new WorkerPool({ size: 2 });
      const results = await gather(
        [N - 3, N - 2, N - 1].map((n) => () => pool.run<number>(work, 'fib', [n])),
      );
      log(`WorkerPool of 2: ${results.map((r, i) => `fib(${N - 3 + i}) = ${r}`).join(', ')}`);
      heartbeat.cancel();
    });

    log('');
    log('Decision guide:');
    log('  waits a lot (network, disk, database)  → async: weft tasks (gather, scope, @weft/http)');
    log('  a library that only has a blocking API → a worker (runInWorker): Python uses a thread');
    log(
      '  computes a lot (math, parsing, images) → WorkerPool: several cores, like a process pool',
    );
    log('  needs its own memory or may crash      → a child process (node:child_process)');
  },
};
