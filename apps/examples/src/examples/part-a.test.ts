import { expect, test } from 'vitest';
import { TUTORIAL_1 } from '../example.ts';
import { findExample } from '../registry.ts';
import { partA } from './part-a.ts';

test('part A lists examples 1 to 10 of the first tutorial, in order, each findable by number and name', () => {
  expect(partA.map((e) => e.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(partA.map((e) => e.name)).toEqual([
    'blocking-code',
    'async-await',
    'run-entry-point',
    'gather',
    'create-task',
    'error-handling',
    'return-exceptions',
    'async-for',
    'async-with',
    'timeouts',
  ]);
  for (const example of partA) {
    expect(example.section.startsWith(`${TUTORIAL_1} · "`)).toBe(true);
    expect(findExample(String(example.number))).toBe(example);
    expect(findExample(example.name)).toBe(example);
    // None of them needs the network or the real clock.
    expect(example.upstream ?? false).toBe(false);
    expect(example.realTime ?? false).toBe(false);
  }
});
