import { sleep } from '@weft/core';
import { expect, test } from 'vitest';
import type { Example } from '../example.ts';
import { runClean } from './run-clean.ts';

// bun test fails a test in which a rejection goes unhandled on its own, before a
// process listener sees it: there the runner itself does this check.
const isBun = typeof (globalThis as { Bun?: unknown }).Bun === 'object';

test.skipIf(isBun)(
  'fails an example that leaves an unhandled rejection behind, even though it returned',
  async () => {
    const leaky: Example = {
      number: 0,
      name: 'leaky',
      title: 'a rejection nobody handles',
      section: 'test',
      async run({ log }) {
        void Promise.reject(new Error('nobody caught me'));
        await sleep(10);
        log('returned');
      },
    };
    await expect(runClean(leaky)).rejects.toThrow('example leaky left 1 unhandled rejection(s)');
  },
);

test('hands back the lines of an example that leaves nothing behind', async () => {
  const clean: Example = {
    number: 0,
    name: 'clean',
    title: 'nothing left behind',
    section: 'test',
    async run({ log }) {
      await sleep(10);
      log('done');
    },
  };
  const result = await runClean(clean);
  expect(result.lines).toEqual(['done']);
  expect(result.virtualMs).toBe(10);
});
