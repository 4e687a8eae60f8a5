import type { Clock } from './clock.ts';
import { attachSuppressed, CancelledError, isCancellation, isCancellationOf } from './errors.ts';
import type { GatherInput, GatherItem, GatherValue } from './gather.ts';
import { observeAll, resolveItem, toArray } from './internal/items.ts';
import { assertName, assertNonEmpty, assertOptions, rejectOnThrow } from './internal/validate.ts';
import { Scope, scopeInternals } from './scope.ts';
import type { Task, TaskContext } from './task.ts';

/** Options of {@link race} and {@link any}. */
export interface RaceOptions {
  /** Cancels everything when it aborts. Inside a task it adds to the task's signal. */
  signal?: AbortSignal;
  /** Where time comes from. Inside a task: the task's clock. */
  clock?: Clock;
  /**
   * A name for diagnostics and error messages.
   * @default 'race' (or 'any')
   */
  name?: string;
}

const KNOWN = ['signal', 'clock', 'name'] as const;

function contest(
  items: unknown,
  options: RaceOptions | undefined,
  mode: 'race' | 'any',
): Promise<unknown> {
  const list = toArray('items', items);
  try {
    assertOptions('options', options, KNOWN);
    assertName('options.name', options?.name);
  } catch (error) {
    // The promise items are running: no unhandled rejection besides (review D5).
    observeAll(list);
    throw error;
  }
  if (list.length === 0) {
    if (mode === 'any') return Promise.reject(new AggregateError([], 'any() got no items'));
    assertNonEmpty('items', list);
  }
  const s = new Scope({
    signal: options?.signal,
    clock: options?.clock,
    name: options?.name ?? mode,
  });
  let decided = false;
  let won = false;
  let winner: unknown;
  const errors: unknown[] = new Array(list.length);
  let failures = 0;
  const entrants: Task<void>[] = [];
  let lost: CancelledError | undefined;
  // The losers are cancelled at once, one by one; the scope (and so whatever the entrants
  // spawned into it) only once the winner's task has settled: cancelling it while the
  // winner runs would abort the winner's signal, and what the winner returned may still
  // depend on it (a response body, a cursor, a connection).
  const decide = (scope: Scope, index: number, ok: boolean, value: unknown): void => {
    decided = true;
    won = ok;
    winner = value;
    const reason = new CancelledError(`Lost the ${mode} in "${scope.name}"`);
    lost = reason;
    for (let j = 0; j < entrants.length; j++) if (j !== index) entrants[j]!.cancel(reason);
    const end = (): void => scope.cancel(reason);
    void entrants[index]!.then(end, end);
  };
  const body = (scope: Scope): void => {
    list.forEach((item, i) => {
      const entrant = async (ctx: TaskContext): Promise<void> => {
        let value: unknown;
        try {
          value = await resolveItem(item, ctx);
        } catch (error) {
          if (decided) {
            // A loser that ends with its cancellation ends as it was asked to.
            if (isCancellationOf(error, lost)) return;
            throw error;
          }
          if (mode === 'race') return decide(scope, i, false, error);
          errors[i] = error;
          if (++failures === list.length) {
            decide(scope, i, false, new AggregateError(errors, 'All items of any() failed'));
          }
          return;
        }
        if (!decided) decide(scope, i, true, value);
      };
      const task = scopeInternals.spawn(scope, entrant, `${mode}#${i}`);
      entrants.push(task);
      if (decided) task.cancel(lost);
    });
  };
  return scopeInternals.expose(
    s,
    scopeInternals.runBody(s, body).then(
      () => {
        if (won) return winner;
        throw winner;
      },
      (error: unknown) => {
        // Cancelled from outside after the first item to settle failed for real: that
        // failure is the outcome (a failure wins over a cancellation, as in a scope), the
        // cancellation attached to it, never dropped (probe8 Q3).
        if (decided && !won && !isCancellation(winner)) throw attachSuppressed(winner, error);
        throw error;
      },
    ),
  );
}

/**
 * Resolves or rejects like the first item to settle (`Promise.race`), then cancels the
 * others and waits for them before returning. Items are task functions, promises or
 * values. An empty iterable is a `RangeError`.
 *
 * @example
 * ```ts
 * import { race } from '@weft/core';
 *
 * const fastest = await race([
 *   ({ signal }) => fetch('http://127.0.0.1:8080/mirror-a', { signal }),
 *   ({ signal }) => fetch('http://127.0.0.1:8080/mirror-b', { signal }),
 * ]); // the slower request is aborted
 * ```
 */
export function race<const I extends readonly GatherInput[]>(
  items: I,
  options?: RaceOptions,
): Promise<GatherValue<I[number]>>;
export function race<T>(items: Iterable<GatherItem<T>>, options?: RaceOptions): Promise<T>;
export function race(items: Iterable<unknown>, options?: RaceOptions): Promise<unknown> {
  return rejectOnThrow(() => contest(items, options, 'race'));
}

/**
 * Resolves with the first item to fulfil (`Promise.any`), then cancels the others and
 * waits for them. Rejects with an `AggregateError` holding every failure, in input order,
 * when all of them fail.
 *
 * @example
 * ```ts
 * import { any } from '@weft/core';
 *
 * const config = await any([() => loadFromCache(), ({ signal }) => loadFromServer(signal)]);
 * ```
 */
export function any<const I extends readonly GatherInput[]>(
  items: I,
  options?: RaceOptions,
): Promise<GatherValue<I[number]>>;
export function any<T>(items: Iterable<GatherItem<T>>, options?: RaceOptions): Promise<T>;
export function any(items: Iterable<unknown>, options?: RaceOptions): Promise<unknown> {
  return rejectOnThrow(() => contest(items, options, 'any'));
}
