import { describe, expect, test } from 'vitest';
import { DatabaseError, SqlState } from './errors.ts';
import { createRandom } from './random.ts';

describe('createRandom', () => {
  test('the same seed replays the same sequence; another seed does not', () => {
    const a = createRandom(7);
    const b = createRandom(7);
    const c = createRandom(8);
    const seqA = Array.from({ length: 20 }, () => a.next());
    const seqB = Array.from({ length: 20 }, () => b.next());
    const seqC = Array.from({ length: 20 }, () => c.next());
    expect(seqA).toEqual(seqB);
    expect(seqA).not.toEqual(seqC);
    expect(seqA.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  test('the sequence is pinned, so it is the same on every runtime', () => {
    const r = createRandom(1);
    expect(Array.from({ length: 5 }, () => r.int(0, 999))).toEqual([165, 391, 394, 586, 347]);
  });

  test('int covers both ends and chance follows its probability', () => {
    const r = createRandom(123);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(r.int(1, 6));
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    let hits = 0;
    for (let i = 0; i < 10_000; i++) if (r.chance(0.25)) hits++;
    expect(hits).toBeGreaterThan(2250);
    expect(hits).toBeLessThan(2750);
    expect(r.chance(0)).toBe(false);
    expect(r.chance(1)).toBe(true);
  });

  test('bad input', () => {
    expect(() => createRandom(1.5)).toThrow(/`seed`.*`1.5`/);
    expect(() => createRandom(1).int(5, 1)).toThrow(RangeError);
    expect(() => createRandom(1).chance(2)).toThrow(/`p`/);
  });
});

describe('DatabaseError', () => {
  test('carries its SQLSTATE code and says whether a retry may help', () => {
    const err = new DatabaseError(SqlState.serializationFailure, 'could not serialize access');
    expect(err.name).toBe('DatabaseError');
    expect(err.code).toBe('40001');
    expect(err.retryable).toBe(true);
    expect(new DatabaseError(SqlState.uniqueViolation, 'dup').retryable).toBe(false);
  });
});
