import type { Cause } from 'effect';
import { errorText } from '../internal/error-text.ts';

/**
 * The common base of the errors that `@weft/core/effect` raises where a weft task and an
 * Effect fiber meet. Catch it to handle every interop error at once.
 *
 * @example
 * ```ts
 * import { EffectInteropError, fromEffect } from '@weft/core/effect';
 * import { gather } from '@weft/core';
 * import { Effect } from 'effect';
 *
 * try {
 *   await gather([fromEffect(Effect.die('bug'))]);
 * } catch (err) {
 *   if (err instanceof EffectInteropError) console.log(err.name); // 'EffectDefectError'
 * }
 * ```
 */
export class EffectInteropError extends Error {
  override readonly name: string = 'EffectInteropError';
}

/**
 * The rejection of a {@link fromEffect} task whose fiber died: a defect (`Effect.die`, a
 * throw inside `Effect.sync`, a failing finalizer), as opposed to a typed failure, which
 * rejects with the failure value itself. `defect` (also `cause`) is the first defect and
 * `effectCause` the fiber's whole `Cause`.
 *
 * @example
 * ```ts
 * import { EffectDefectError, fromEffect } from '@weft/core/effect';
 * import { gather } from '@weft/core';
 * import { Effect } from 'effect';
 *
 * try {
 *   await gather([fromEffect(Effect.sync(() => JSON.parse('{')))]);
 * } catch (err) {
 *   if (err instanceof EffectDefectError) console.log(err.defect); // the SyntaxError
 * }
 * ```
 */
export class EffectDefectError extends EffectInteropError {
  override readonly name: 'EffectDefectError' = 'EffectDefectError';
  /** The first defect of the fiber's `Cause`. */
  readonly defect: unknown;
  /** The fiber's whole `Cause`, with every failure, defect and interruption. */
  readonly effectCause: Cause.Cause<unknown>;

  constructor(defect: unknown, effectCause: Cause.Cause<unknown>) {
    const text = errorText(defect);
    super(`The effect died: ${text}`, { cause: defect });
    this.defect = defect;
    this.effectCause = effectCause;
  }
}

/**
 * The rejection of a {@link fromEffect} task whose fiber was interrupted from the Effect
 * side (`Effect.interrupt`, a disposed runtime) while the task itself was not cancelled.
 * The task produced no value, so its scope counts it as a failure. (When weft cancels the
 * task, the task rejects with its signal's reason instead.)
 *
 * @example
 * ```ts
 * import { EffectInterruptedError, fromEffect } from '@weft/core/effect';
 * import { gather } from '@weft/core';
 * import { Effect } from 'effect';
 *
 * await gather([fromEffect(Effect.interrupt)]).catch((err) => {
 *   console.log(err instanceof EffectInterruptedError); // true
 * });
 * ```
 */
export class EffectInterruptedError extends EffectInteropError {
  override readonly name: 'EffectInterruptedError' = 'EffectInterruptedError';
  /** The fiber's whole `Cause`. */
  readonly effectCause: Cause.Cause<unknown>;

  constructor(effectCause: Cause.Cause<unknown>) {
    super('The effect was interrupted from the Effect side; it produced no value');
    this.effectCause = effectCause;
  }
}

/**
 * The typed failure of a {@link toEffect} effect: the weft task function rejected (threw,
 * timed out, or failed in a scope of its own). `cause` is the original rejection. It has a
 * `_tag`, so `Effect.catchTag('TaskRejectedError', …)` handles it. Interrupting the fiber is
 * not a failure: the task is cancelled and the fiber ends interrupted.
 *
 * @example
 * ```ts
 * import { toEffect } from '@weft/core/effect';
 * import { Effect } from 'effect';
 *
 * const program = toEffect(async () => {
 *   throw new RangeError('no such page');
 * }).pipe(Effect.catchTag('TaskRejectedError', (err) => Effect.succeed(String(err.cause))));
 * console.log(await Effect.runPromise(program)); // 'RangeError: no such page'
 * ```
 */
export class TaskRejectedError extends EffectInteropError {
  override readonly name: 'TaskRejectedError' = 'TaskRejectedError';
  readonly _tag: 'TaskRejectedError' = 'TaskRejectedError';
  /** The error the task function rejected with. */
  declare readonly cause: unknown;

  constructor(cause: unknown) {
    const text = errorText(cause);
    super(`The weft task rejected: ${text}`, { cause });
  }
}
