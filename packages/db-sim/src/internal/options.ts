import type { CursorOptions, QueryOptions } from '../types.ts';
import { assertDuration, assertInteger, assertOptions, assertSignal } from './validate.ts';

export function checkQueryOptions(options: QueryOptions | undefined): void {
  assertOptions('options', options, ['signal', 'timeout']);
  assertSignal('options.signal', options?.signal);
  if (options?.timeout !== undefined) assertDuration('options.timeout', options.timeout);
}

/** Checks cursor options; returns the batch size. */
export function checkCursorOptions(options: CursorOptions | undefined): number {
  assertOptions('options', options, ['signal', 'timeout', 'batchSize']);
  assertSignal('options.signal', options?.signal);
  if (options?.timeout !== undefined) assertDuration('options.timeout', options.timeout);
  const batchSize = options?.batchSize ?? 100;
  assertInteger('options.batchSize', batchSize);
  return batchSize;
}
