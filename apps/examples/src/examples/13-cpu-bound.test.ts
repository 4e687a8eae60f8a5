import { expect, test } from 'vitest';
import { runClean } from './run-clean.ts';
import { cpuBound } from './13-cpu-bound.ts';

test('the heartbeat gets no tick while fib runs on the loop, and keeps ticking while a worker runs it', async () => {
  const result = await runClean(cpuBound);
  expect(result.lines).toEqual([
    'fib(36) = 14930352, computed on the event loop',
    'heartbeat ticks while blocked: 0',
    'fib(36) = 14930352, computed in a worker (runInWorker)',
    'loop stayed responsive: yes',
    'WorkerPool of 2: fib(33) = 3524578, fib(34) = 5702887, fib(35) = 9227465',
    '',
    'Decision guide:',
    '  waits a lot (network, disk, database)  → async: weft tasks (gather, scope, @weft/http)',
    '  a library that only has a blocking API → a worker (runInWorker): Python uses a thread',
    '  computes a lot (math, parsing, images) → WorkerPool: several cores, like a process pool',
    '  needs its own memory or may crash      → a child process (node:child_process)',
  ]);
  // Real time: the runner reports no virtual time for it.
  expect(result.virtualMs).toBeUndefined();
});
