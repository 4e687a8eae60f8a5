// Benchmarks of issue 12: what crossing the weft/Effect boundary costs, per call, against
// staying on one side and against the naive bridge (runPromise inside a task function,
// which neither interrupts the fiber on cancellation nor waits for its finalizers).
import { gather } from '@weft/core';
import { fromEffect, toEffect } from '@weft/core/effect';
import { Effect } from 'effect';
import type { Case } from '../harness.ts';

const N = 10_000;
const items = Array.from({ length: N }, (_, i) => i);
const trivial = async (): Promise<number> => 1;
const one = Effect.succeed(1);
const asTask = fromEffect(one);

export const cases: Case[] = [
  {
    suite: 'effect',
    case: 'fromEffect: 10,000 effects as weft tasks (gather)',
    unit: '10,000 effects',
    subjects: [
      { subject: 'weft', fn: () => gather(items.map(() => asTask)) },
      {
        subject: 'naive bridge: gather of Effect.runPromise',
        fn: () => gather(items.map(() => () => Effect.runPromise(one))),
      },
      {
        subject: 'Effect 3 forEach unbounded (no boundary)',
        fn: () => Effect.runPromise(Effect.forEach(items, () => one, { concurrency: 'unbounded' })),
      },
    ],
  },
  {
    suite: 'effect',
    case: 'toEffect: 10,000 weft task functions from Effect (forEach unbounded)',
    unit: '10,000 tasks',
    subjects: [
      {
        subject: 'weft',
        fn: () =>
          Effect.runPromise(
            Effect.forEach(items, () => toEffect(trivial), { concurrency: 'unbounded' }),
          ),
      },
      {
        subject: 'Effect.promise (not cancellable)',
        fn: () =>
          Effect.runPromise(
            Effect.forEach(items, () => Effect.promise(trivial), { concurrency: 'unbounded' }),
          ),
      },
    ],
  },
];
