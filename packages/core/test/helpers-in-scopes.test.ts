import fc from 'fast-check';
import { describe, test } from 'vitest';
import * as weft from '../src/index.ts';
import { helpersInScopesProperty } from './helpers-in-scopes.ts';

const runs = Number(
  (globalThis as { process?: NodeJS.Process }).process?.env.WEFT_PROPERTY_RUNS ?? 300,
);

describe('async-iterable helpers inside scopes', () => {
  test(`sources closed, nothing outlives its scope, cancellation rejects, no item or cleanup error lost (${runs} runs)`, async () => {
    await fc.assert(helpersInScopesProperty(weft), { numRuns: runs });
  }, 120_000);
});
