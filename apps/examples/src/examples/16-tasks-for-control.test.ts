import { expect, test } from 'vitest';
import { runClean } from './run-clean.ts';
import { tasksForControl } from './16-tasks-for-control.ts';

test('both jobs run while main works; the 2 s job finishes first; results come in 3.00s', async () => {
  const result = await runClean(tasksForControl, { timeline: true });
  expect(result.lines).toEqual([
    // s.spawn starts a task at once; asyncio's create_task would print this line first.
    'Starting background job...',
    'Starting another job...',
    'Doing other work...',
    'Still working...',
    'Finished another job',
    'Finished background job',
    'Got: Result from background job, Result from another job',
    "(3.00s: the longer job's 3 s, not 3 + 2 + 0.5)",
    '(asyncio prints "Doing other work..." first: create_task runs a task once main awaits, s.spawn at once)',
  ]);
  expect(result.virtualMs).toBe(3000);
  // Both jobs are tasks of the scope, running from 0: 3 s and 2 s bars, side by side.
  expect(result.timeline).toMatch(/background job +█{48} 3\.00 s fulfilled/);
  expect(result.timeline).toMatch(/another job +█{32} +2\.00 s fulfilled/);
});
