import { expect, test } from 'vitest';
import { collectUnhandled } from '../../../../packages/core/test/helpers.ts';
import { runForTest } from '../testing.ts';
import { gatherExample } from './04-gather.ts';

test('processes four items in 0.1 s, not 0.4 s, and returns them in input order even when they finish out of order', async () => {
  const unhandled = await collectUnhandled(async () => {
    const { lines, virtualMs } = await runForTest(gatherExample, { timeline: true });
    expect(lines).toEqual([
      'Processed: item_1',
      'Processed: item_2',
      'Processed: item_3',
      'Processed: item_4',
      'Total time: 0.1s, not 0.4s',
      '  item_4 finished at 0.01s',
      '  item_2 finished at 0.04s',
      '  item_3 finished at 0.07s',
      '  item_1 finished at 0.10s',
      'Processed: item_1',
      'Processed: item_2',
      'Processed: item_3',
      'Processed: item_4',
      'Total time: 0.1s (the slowest item), not 0.2s (one after another)',
    ]);
    // Both rounds take as long as their slowest item: 0.1 s each.
    expect(virtualMs).toBe(200);
  });
  expect(unhandled).toEqual([]);
});
