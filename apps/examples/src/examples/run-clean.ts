// For the tests of examples 11–19: runForTest, plus the check that the example left no
// unhandled promise rejection behind (while it ran and one macrotask turn after).
import { collectUnhandled } from '../../../../packages/core/test/helpers.ts';
import type { Example } from '../example.ts';
import type { RunResult } from '../runner/run-examples.ts';
import { runForTest, type TestRunOptions } from '../testing.ts';

/** Runs `example` like the runner does; throws its error, or any unhandled rejection. */
export async function runClean(example: Example, options?: TestRunOptions): Promise<RunResult> {
  let result: RunResult | undefined;
  const unhandled = await collectUnhandled(async () => {
    result = await runForTest(example, options);
  });
  if (unhandled.length > 0) {
    throw new AggregateError(
      unhandled,
      `example ${example.name} left ${unhandled.length} unhandled rejection(s)`,
    );
  }
  if (result === undefined) throw new Error(`example ${example.name} did not run`);
  return result;
}
