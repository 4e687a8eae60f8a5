// Type tests for the overloads of gather, settle, race, any and asCompleted. Checked by
// `pnpm run typecheck` (tsconfig includes test/); not run by vitest (no `.test.ts`).
import { expectTypeOf } from 'vitest';
import {
  any,
  asCompleted,
  gather,
  type MoveOnResult,
  moveOnAfter,
  race,
  type Scope,
  type StartContext,
  settle,
  type Task,
  type TaskContext,
} from '../src/index.ts';

declare const numberPromise: Promise<number>;
declare const strings: string[];
declare const fns: Array<() => Promise<boolean>>;

// gather: a tuple of mixed items keeps each position's type.
expectTypeOf(
  gather([() => 1, async () => 'a', numberPromise, true, null] as const),
).resolves.toEqualTypeOf<[number, string, number, true, null]>();
expectTypeOf(gather([() => 1, async () => 'a'])).resolves.toEqualTypeOf<[number, string]>();
// Task functions get their context typed from the tuple overload.
void gather([
  (ctx) => {
    expectTypeOf(ctx).toEqualTypeOf<TaskContext>();
    return ctx.signal.aborted;
  },
]);
// An array (not a tuple) of one item type: the iterable overload gives T[].
expectTypeOf(gather(fns)).resolves.toEqualTypeOf<boolean[]>();
expectTypeOf(gather(strings)).resolves.toEqualTypeOf<string[]>();
expectTypeOf(gather(new Set([numberPromise]))).resolves.toEqualTypeOf<number[]>();
// @ts-expect-error: the options are checked (unknown key)
void gather([], { concurency: 2 });

// settle: the same shapes, wrapped in PromiseSettledResult.
expectTypeOf(settle([() => 1, async () => 'a'])).resolves.toEqualTypeOf<
  [PromiseSettledResult<number>, PromiseSettledResult<string>]
>();
expectTypeOf(settle(fns)).resolves.toEqualTypeOf<PromiseSettledResult<boolean>[]>();

// race / any: the union of the item types.
expectTypeOf(race([() => 1, async () => 'a'])).resolves.toEqualTypeOf<number | string>();
expectTypeOf(race(fns)).resolves.toEqualTypeOf<boolean>();
expectTypeOf(any([numberPromise, async () => 'a'])).resolves.toEqualTypeOf<number | string>();
expectTypeOf(any(new Set([numberPromise]))).resolves.toEqualTypeOf<number>();
// @ts-expect-error: race takes no concurrency
void race([], { concurrency: 2 });

// asCompleted: an async generator of the item types.
expectTypeOf(asCompleted([() => 1, async () => 'a'])).toEqualTypeOf<
  AsyncGenerator<number | string, void, undefined>
>();
expectTypeOf(asCompleted(fns)).toEqualTypeOf<AsyncGenerator<boolean, void, undefined>>();

// moveOnAfter: a result that tells a timeout from `undefined`.
expectTypeOf(moveOnAfter(10, () => 1)).resolves.toEqualTypeOf<MoveOnResult<number>>();
declare const moved: MoveOnResult<number | undefined>;
if (moved.timedOut) expectTypeOf(moved.value).toEqualTypeOf<undefined>();
else expectTypeOf(moved.value).toEqualTypeOf<number | undefined>();

// The context is not a thenable; a Task is.
expectTypeOf<TaskContext>().not.toHaveProperty('then');
expectTypeOf<Task<number>>().toHaveProperty('then');

// Scope.start: the value type comes from the StartContext the task function declares.
declare const s: Scope;
expectTypeOf(
  s.start(async (ctx: StartContext<number>) => ctx.started(1)),
).resolves.toEqualTypeOf<number>();
// @ts-expect-error: started() takes the declared value type
void s.start(async (ctx: StartContext<number>) => ctx.started('no'));
