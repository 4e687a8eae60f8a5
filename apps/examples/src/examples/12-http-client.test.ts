import { expect, test } from 'vitest';
import { runClean } from './run-clean.ts';
import { httpClient } from './12-http-client.ts';

test('prints the first todo as the tutorial does, fetched over a real socket', async () => {
  const result = await runClean(httpClient);
  expect(result.lines).toEqual([
    "{ userId: 1, id: 1, title: 'delectus aut autem', completed: false }",
  ]);
  // No virtual time passes: the request is real I/O, not a sleep.
  expect(result.virtualMs).toBe(0);
});
