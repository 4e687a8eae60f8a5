/**
 * Bridges between weft and [Effect](https://effect.website) 3.x: run an Effect inside a
 * weft scope ({@link fromEffect}: aborting the task interrupts the fiber and waits for its
 * finalizers) and a weft task function as an Effect ({@link toEffect}: interrupting the
 * fiber aborts the task and waits for its `finally`).
 *
 * `effect` is an optional peer dependency of `@weft/core`: only this entry imports it.
 *
 * @example
 * ```ts
 * import { scope, sleep } from '@weft/core';
 * import { fromEffect, toEffect } from '@weft/core/effect';
 * import { Effect } from 'effect';
 *
 * await scope(async (s) => {
 *   s.spawn(fromEffect(Effect.log('hello from a fiber')));
 *   s.spawn(fromEffect(toEffect(() => sleep(10))));
 * });
 * ```
 *
 * @module
 */
export { type FromEffectOptions, effectCause, fromEffect } from './from-effect.ts';
export { type ToEffectOptions, toEffect } from './to-effect.ts';
export {
  EffectDefectError,
  EffectInteropError,
  EffectInterruptedError,
  TaskRejectedError,
} from './errors.ts';
