import { expect, test } from 'vitest';
import { runClean } from './run-clean.ts';
import { fetchManyUrls } from './17-fetch-many-urls.ts';

test("prints each URL's JSON keys in input order, with gather and with getAll", async () => {
  const result = await runClean(fetchManyUrls);
  expect(result.lines).toEqual([
    "URL 1: [ 'slideshow' ]",
    "URL 2: [ 'uuid' ]",
    "URL 3: [ 'headers' ]",
    "getAll: [ 'slideshow' ], [ 'uuid' ], [ 'headers' ]",
  ]);
  // Real I/O, not sleeps: no virtual time passes.
  expect(result.virtualMs).toBe(0);
});
