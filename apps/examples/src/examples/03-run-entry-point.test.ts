import { run, TestClock } from '@weft/core';
import { expect, test } from 'vitest';
import { collectUnhandled } from '../../../../packages/core/test/helpers.ts';
import { runForTest } from '../testing.ts';
import { runEntryPoint } from './03-run-entry-point.ts';

test('run(main) prints Starting... and Done!, refuses to nest, waits for tasks (or cancels them when main asks) and cleans up after a failure', async () => {
  const unhandled = await collectUnhandled(async () => {
    const { lines, virtualMs } = await runForTest(runEntryPoint);
    expect(lines).toEqual([
      'Starting...',
      'Done!',
      'run() inside async code: run() cannot be called inside a running run(): await the async function directly, or use scope() for a nested group of tasks',
      'Starting...',
      'Done!',
      'main returns at once',
      'background job finished at 2.0s',
      'run() returned at 2.0s, with nothing left running',
      // asyncio.run()'s behaviour, asked for: the job is cancelled when main returns.
      'main returns at once and cancels what is left, as asyncio.run() would',
      'background job cancelled at 0.0s, cleanup ran',
      'run() returned at 0.0s',
      'background job cancelled at 1.0s, cleanup ran',
      'run() rejected at 1.0s: main failed',
    ]);
    // 1 s (main) + 1 s (main awaited inside run) + 2 s (waiting for the job) + 1 s (until
    // main failed; the 10 s job was cut short, not waited out).
    expect(virtualMs).toBe(5000);
  });
  expect(unhandled).toEqual([]);
});

test('the example makes its own top-level run() calls: the runner does not wrap it in one', async () => {
  // Called inside someone else's run(), its first run(main) fails with the clear error;
  // under the runner it did not (above), so the runner called it outside any run().
  const io = {
    log() {},
    clock: new TestClock({ autoAdvance: true }),
    virtual: true,
    upstream: () => '',
  };
  await expect(run(() => runEntryPoint.run(io), { clock: io.clock })).rejects.toThrow(
    'run() cannot be called inside a running run()',
  );
});
