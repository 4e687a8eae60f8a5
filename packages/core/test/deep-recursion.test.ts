// Review D13 of rv-core4: a recursion through gather / scope / map, each level started
// synchronously by the one above, overflowed the stack at ~400 levels (a plain async
// recursion goes past 3000) and the overflow escaped as unhandled rejections. Past a
// bound, a task function or scope body now starts on a fresh stack.
import { describe, expect, test } from 'vitest';
import { gather } from '../src/gather.ts';
import { map } from '../src/map.ts';
import { scope } from '../src/scope.ts';
import { sleep } from '../src/sleep.ts';
import { TestClock } from '../src/test-clock.ts';
import { collectUnhandled } from './helpers.ts';

const DEPTH = 3000;

describe('recursion through weft calls goes as deep as a plain async one (review D13)', () => {
  const kinds: Record<string, (clock: TestClock) => (d: number) => Promise<unknown>> = {
    gather: (clock) => {
      const rec = async (d: number): Promise<unknown> =>
        d === 0 ? sleep(1, { clock }) : gather([() => rec(d - 1)]);
      return rec;
    },
    'scope + spawn': (clock) => {
      const rec = async (d: number): Promise<unknown> =>
        d === 0
          ? sleep(1, { clock })
          : scope(async (s) => {
              s.spawn(() => rec(d - 1));
            });
      return rec;
    },
    'scope body': (clock) => {
      const rec = async (d: number): Promise<unknown> =>
        d === 0 ? sleep(1, { clock }) : scope(() => rec(d - 1));
      return rec;
    },
    map: (clock) => {
      const rec = async (d: number): Promise<unknown> =>
        d === 0 ? sleep(1, { clock }) : map([1], () => rec(d - 1));
      return rec;
    },
  };
  for (const [name, make] of Object.entries(kinds)) {
    test(`${name}: ${DEPTH} levels settle, no unhandled rejection`, async () => {
      const clock = new TestClock({ autoAdvance: true });
      let outcome: unknown;
      const unhandled = await collectUnhandled(async () => {
        outcome = await make(clock)(DEPTH).then(
          () => 'ok',
          (error: unknown) => error,
        );
      });
      expect(outcome).toBe('ok');
      expect(unhandled).toEqual([]);
    });
  }

  test('the order of a shallow start is unchanged: a spawned task runs synchronously up to its first await', async () => {
    const seen: string[] = [];
    await scope((s) => {
      s.spawn(() => {
        seen.push('task');
      });
      seen.push('after spawn');
    });
    expect(seen).toEqual(['task', 'after spawn']);
  });
});
