import { CancelledError } from '@weft/core';
import { expect, test } from 'vitest';
import { interruptExitCode } from './interrupt.ts';

test('SIGTERM exits with 143 and SIGINT with 130, as run() sets them; other failures are not interruptions', () => {
  // The messages core's run() cancels with.
  expect(interruptExitCode(new CancelledError('Received SIGTERM: the program was cancelled'))).toBe(
    143,
  );
  expect(interruptExitCode(new CancelledError('Received SIGINT: the program was cancelled'))).toBe(
    130,
  );
  expect(interruptExitCode(new Error('boom'))).toBeUndefined();
  expect(interruptExitCode(new CancelledError())).toBeUndefined();
  expect(interruptExitCode('SIGTERM')).toBeUndefined();
});
