// Tutorial 1, "Common Mistakes", the three of them in TypeScript:
// 1. an async call without `await` (Python: "coroutine 'greet' was never awaited") → a
//    Promise instead of the value, or work nobody waits for; ESLint's
//    @typescript-eslint/no-floating-promises reports the second (this repository has it on).
// 2. `time.sleep()` in async code → a busy loop or any slow synchronous call; weft's
//    monitorEventLoop() reports the block; `await asyncio.sleep()` → `await sleep()`.
// 3. `asyncio.run()` inside async code (RuntimeError) → run() inside run() throws a clear
//    error; await the function instead.
import { gather, monitorEventLoop, run, sleep } from '@weft/core';
import { type Example, TUTORIAL_1 } from '../example.ts';

async function greet(name: string): Promise<string> {
  await sleep(100); // Simulate some async work
  return `Hello, ${name}!`;
}

/**
 * Sends a greeting somewhere: called for its effect, not its value. The promise it returns
 * is already observed (see `observe`), because `mainThatForgets` drops it.
 */
function sendGreeting(name: string, log: (line: string) => void): Promise<void> {
  const sending = (async () => {
    await sleep(100);
    log(`  sent: Hello, ${name}! (after main had returned)`);
  })();
  observe(sending);
  return sending;
}

/**
 * Marks `promise` handled. The cost of a forgotten `await` is that nobody
 * handles the promise's failure: when it rejects, Node, Bun and Deno report an unhandled
 * rejection and end the process with exit code 1. The forgotten promises of this example
 * can only fail one way, cancelled by Ctrl-C (their `sleep` belongs to the example's task):
 * without this, Ctrl-C during mistake 1 crashed the run with exit code 1 instead of ending
 * it with 130 (review dbx10 X6). In real code, await the promise, or spawn the work in a
 * scope, which waits for it and reports its failure.
 */
function observe(promise: Promise<unknown>): void {
  promise.catch(() => {});
}

/** Mistake 1 as a statement: main does not wait, and would not see an error either. */
async function mainThatForgets(log: (line: string) => void): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-floating-promises -- the mistake, on purpose: 14-common-mistakes.test.ts checks that ESLint reports this line
  sendGreeting('Alex', log); // Missing await!
  log('  main: done');
}

/** Spins without ever giving the event loop a turn: `time.sleep()` in async code. */
function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // nothing else runs meanwhile: no timer, no I/O callback, no other task
  }
}

const BLOCK_MS = 500;

export const commonMistakes: Example = {
  number: 14,
  name: 'common-mistakes',
  title: 'a forgotten await, a blocked event loop, run() inside run()',
  section: `${TUTORIAL_1} · "Common Mistakes"`,
  // Mistake 2 is about real time: a busy loop does not move a virtual clock.
  realTime: true,
  async run({ log }) {
    log('1. Calling an async function without await');
    const result = greet('Alex'); // Missing await!
    observe(result); // Ctrl-C may cancel it before the `await result` below: see observe()
    log(`  WRONG: result = greet('Alex') → ${String(result)}`); // Python: <coroutine object greet at 0x...>
    log(`  RIGHT: result = await greet('Alex') → ${await greet('Alex')}`);
    await result; // the forgotten call is still running: wait for it, leave nothing behind
    log("  WRONG: sendGreeting('Alex'); as a statement: main does not wait for it");
    await mainThatForgets(log);
    log('  main returned');
    await sleep(150); // it still runs, but nobody waits for it: had it failed, nobody would catch it
    log('  ESLint reports that call: @typescript-eslint/no-floating-promises');

    log('2. Blocking the event loop');
    {
      const blocks: number[] = [];
      using _monitor = monitorEventLoop({
        threshold: 250,
        interval: 20,
        onBlock: ({ duration }) => blocks.push(duration),
      });
      busyWait(BLOCK_MS); // WRONG: like time.sleep(0.5)
      await sleep(60); // the loop runs again: the monitor's late check reports the block
      // The monitor's check came at least BLOCK_MS − interval late; 400 leaves room.
      const longest = Math.max(0, ...blocks);
      log(
        longest >= 400
          ? `  WRONG: a ${BLOCK_MS} ms busy-wait; monitorEventLoop: blocked for 400 ms or more`
          : `  WRONG: a ${BLOCK_MS} ms busy-wait; monitorEventLoop saw ${Math.round(longest)} ms`,
      );
    }
    // RIGHT: other tasks run during the wait (a task ticking every 10 ms gets its turns).
    let ticks = 0;
    await gather([
      () => sleep(BLOCK_MS),
      async () => {
        while (ticks < 3) {
          await sleep(10);
          ticks++;
        }
      },
    ]);
    log(`  RIGHT: await sleep(${BLOCK_MS}); another task ticked ${ticks} times meanwhile`);

    log('3. Using run() inside async code');
    try {
      await run(() => greet('Alex')); // WRONG: we are inside the example's run() already
    } catch (error) {
      log(
        `  WRONG: run(() => greet('Alex')) → ${error instanceof Error ? `${error.name}: ${error.message}` : error}`,
      );
    }
    log(`  RIGHT: result = await greet('Alex') → ${await greet('Alex')}`);
  },
};
