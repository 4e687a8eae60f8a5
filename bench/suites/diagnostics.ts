// Benchmarks of issue 10: what diagnostics cost on the fan-out (100,000 trivial tasks in
// one scope). "weft" is the plain fan-out with no hooks registered: it pays what every
// scope pays for `Scope.tree()` (its chain of tasks and one start time per task, read
// once per microtask checkpoint) and one null check per task start and settle. The cost
// of the hooks themselves shows with no-op hooks and with a timeline recording; run()
// adds its stuck-cancellation check (a timer only once a scope is cancelled). The
// old-vs-new comparison of the plain fan-out is CPU time, builds interleaved (see the
// closing note of issue 10).
import { instrument, recordTimeline, run, scope } from '@weft/core';
import type { Case } from '../harness.ts';

const N = 100_000;
const trivial = async (): Promise<number> => 1;
const fanOut = (): Promise<void> =>
  scope((s) => {
    for (let i = 0; i < N; i++) s.spawn(trivial);
  });

export const cases: Case[] = [
  {
    suite: 'diagnostics',
    case: 'fan-out of 100,000 tasks: instrumentation off vs on',
    unit: '100,000 tasks',
    subjects: [
      { subject: 'weft', fn: fanOut },
      {
        subject: 'weft, no-op hooks on',
        fn: async () => {
          using _ = instrument({
            onScopeOpen() {},
            onScopeClose() {},
            onTaskStart() {},
            onTaskSettle() {},
          });
          await fanOut();
        },
      },
      {
        subject: 'weft, recordTimeline on',
        fn: async () => {
          using _ = recordTimeline({ limit: 2 * N });
          await fanOut();
        },
      },
      {
        subject: 'weft in run() (stuck check on)',
        fn: () =>
          run(
            (ctx) => {
              for (let i = 0; i < N; i++) ctx.scope.spawn(trivial);
            },
            { handleSignals: false },
          ),
      },
      {
        subject: 'weft in run(), stuckAfter: false',
        fn: () =>
          run(
            (ctx) => {
              for (let i = 0; i < N; i++) ctx.scope.spawn(trivial);
            },
            { handleSignals: false, stuckAfter: false },
          ),
      },
    ],
  },
];
