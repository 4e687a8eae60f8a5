import { EventEmitter } from 'node:events';
import { expect, test } from 'vitest';
import {
  interruptExitCode,
  type SignalSource,
  type TerminationSignal,
  watchTerminationSignals,
} from './interrupt.ts';

test('SIGTERM exits with 143 and SIGINT with 130, as run() sets them', () => {
  expect(interruptExitCode('SIGTERM')).toBe(143);
  expect(interruptExitCode('SIGINT')).toBe(130);
  expect(interruptExitCode(undefined)).toBeUndefined();
});

test('an example failure that mentions an interruption or a signal is not one (review D6)', () => {
  // What interruptExitCode used to be given: an example's error, matched by message.
  for (const error of [
    new Error('All fibers interrupted without errors.'),
    new TypeError('stream interrupted by peer'),
    new Error('config: SIGTERM handler missing'),
    new Error('Received SIGINT: the program was cancelled'),
  ]) {
    expect(interruptExitCode(error as never)).toBeUndefined();
  }
});

test('watchTerminationSignals records the first signal received, and stops when disposed', () => {
  const source = new EventEmitter();
  const typed = source as unknown as SignalSource;
  const emit = (signal: TerminationSignal): boolean => source.emit(signal);
  {
    using watch = watchTerminationSignals(typed);
    expect(watch.received).toBeUndefined();
    emit('SIGTERM');
    emit('SIGINT');
    expect(watch.received).toBe('SIGTERM');
    expect(source.listenerCount('SIGINT')).toBe(1);
  }
  expect(source.listenerCount('SIGINT')).toBe(0);
  expect(source.listenerCount('SIGTERM')).toBe(0);
  using later = watchTerminationSignals(typed);
  emit('SIGINT');
  expect(interruptExitCode(later.received)).toBe(130);
});
