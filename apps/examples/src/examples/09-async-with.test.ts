import { expect, test } from 'vitest';
import { collectUnhandled } from '../../../../packages/core/test/helpers.ts';
import { runForTest } from '../testing.ts';
import { asyncWith } from './09-async-with.ts';

test('await using connects, runs the query and disconnects, also when the block throws or times out', async () => {
  const unhandled = await collectUnhandled(async () => {
    const { lines, virtualMs } = await runForTest(asyncWith);
    expect(lines).toEqual([
      'Connected to my_database',
      'Result of: SELECT * FROM users',
      'Disconnected from my_database',
      // A throw in the block: the disconnect comes first, then the error reaches the caller.
      'Connected to my_database',
      'Disconnected from my_database',
      'Caught after the cleanup: something went wrong in the block',
      // db-sim: the connection is closed when the block ends, and when a query in it fails.
      'db-sim: connected (connection #1, 1 open)',
      'db-sim: Ada, Bob',
      'db-sim: after the block, 0 open',
      'db-sim: connected (connection #2, 1 open)',
      'db-sim: relation "missing_table" does not exist (42P01); 0 open',
      // Cancelled mid-block: the shielded cleanup completes, and the caller gets the
      // TimeoutError itself (not a SuppressedError) once it has.
      'Connected to my_database',
      'Disconnected from my_database',
      'TimeoutError: timeout() rejected at 25 ms (the 15 ms limit, then 10 ms of cleanup)',
    ]);
    expect(lines).not.toContain('never printed');
    // 30 + 30 ms (AsyncConnection), 20 + 20 ms (db-sim), 25 ms (the timed-out block).
    expect(virtualMs).toBe(125);
  });
  expect(unhandled).toEqual([]);
});
