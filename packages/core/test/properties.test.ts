import fc from 'fast-check';
import { describe, test } from 'vitest';
import * as weft from '../src/index.ts';
import { scopeTreeProperty } from './scope-tree.ts';

const runs = Number(
  (globalThis as { process?: NodeJS.Process }).process?.env.WEFT_PROPERTY_RUNS ?? 500,
);

describe('structured concurrency properties', () => {
  test(`random trees of scopes, tasks, timeouts and shields keep every invariant (${runs} runs)`, async () => {
    await fc.assert(scopeTreeProperty(weft), { numRuns: runs });
  }, 120_000);
});
