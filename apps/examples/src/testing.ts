// For the examples' tests: run an example the way the runner does (its own `run()`, a
// TestClock with autoAdvance unless it is `realTime`, the mock upstream on 127.0.0.1 when
// it needs one) and hand back its lines and times. Throws the example's error.
import type { Clock } from '@weft/core';
import type { Example } from './example.ts';
import { type RunResult, runExample } from './runner/run-examples.ts';
import { serveLocal } from './runner/serve-local.ts';
import { createMockApi } from './upstream/mock-api.ts';

export interface TestRunOptions {
  /** Drive time yourself (a `TestClock` you advance) instead of autoAdvance. */
  clock?: Clock;
  /** Record the timeline (result.timeline). */
  timeline?: boolean;
}

export async function runForTest(
  example: Example,
  options: TestRunOptions = {},
): Promise<RunResult> {
  await using upstream =
    example.upstream === true ? await serveLocal(createMockApi().fetch) : undefined;
  const result = await runExample(example, {
    ...(upstream ? { upstream: upstream.url } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.timeline ? { timeline: true } : {}),
  });
  if (!result.ok) throw result.error;
  return result;
}
