import { expect, test } from 'vitest';
import { runClean } from './run-clean.ts';
import { runFromSync } from './19-run-from-sync.ts';

test('run(main) from top level returns main’s value; timeout and signal cancel it; top-level await runs it bare', async () => {
  const result = await runClean(runFromSync);
  expect(result.lines).toEqual([
    'In a regular script: asyncio.run(main()) → run(main)',
    '  run(main): Result from main, after 1.00s',
    'For more control (loop.run_until_complete): run(main, options)',
    '  main: cancelled, cleanup ran',
    '  run(main, { timeout: 500 }): TimeoutError after 0.50s',
    '  main: cancelled, cleanup ran',
    '  run(main, { signal }): AbortError (stopped, as Ctrl-C would) after 0.25s',
    'In a notebook or an ES module: top-level await',
    '  await main(): Result from main, after 1.00s',
    'What run() adds to a bare top-level await:',
    '  Ctrl-C (SIGINT) or SIGTERM cancels main and every task it started; cleanup runs',
    '  then run() rejects with a CancelledError and sets the exit code: 130 (SIGINT), 143 (SIGTERM)',
    '  a second Ctrl-C exits at once',
    '  it returns only when every task main started has settled',
    '  run() inside run() throws: await the function there instead',
  ]);
  expect(result.virtualMs).toBe(2750);
});
