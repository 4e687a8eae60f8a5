import { expect, test } from 'vitest';
import { collectUnhandled } from '../../../../packages/core/test/helpers.ts';
import { runForTest } from '../testing.ts';
import { asyncFor } from './08-async-for.ts';

test('AsyncCounter yields 1 to 5 (Total: 15); the cursor streams 7 rows in three round trips and frees its connection on break', async () => {
  const unhandled = await collectUnhandled(async () => {
    const { lines, virtualMs } = await runForTest(asyncFor);
    expect(lines).toEqual([
      'Got: 1',
      'Got: 2',
      'Got: 3',
      'Got: 4',
      'Got: 5',
      'Total: 15',
      'Total with an async generator: 15',
      // Batch by batch: rows 1–3 with the first round trip, 4–6 with the second (made only
      // when the loop asked for row 4), row 7 with the third.
      'Row 1: keyboard (at 0.01s)',
      'Row 2: mouse (at 0.01s)',
      'Row 3: monitor (at 0.01s)',
      'Row 4: cable (at 0.02s)',
      'Row 5: webcam (at 0.02s)',
      'Row 6: headset (at 0.02s)',
      'Row 7: dock (at 0.03s)',
      'First row 1, then break',
      'The same connection answers the next query: 7 orders',
    ]);
    // 5 × 10 ms per counter, then 10 ms each: connect, 3 batches, 1 batch before the
    // break, the count query.
    expect(virtualMs).toBe(160);
  });
  expect(unhandled).toEqual([]);
});
