import { describe, expect, test } from 'vitest';
import { Barrier, BrokenBarrierError } from './barrier.ts';
import { gather } from './gather.ts';
import { sleep } from './sleep.ts';
import { TestClock } from './test-clock.ts';

describe('Barrier', () => {
  test('releases all parties together with their arrival indices, then resets', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const barrier = new Barrier(3);
    const passedAt: number[] = [];
    const party = (delay: number) => async (): Promise<number> => {
      await sleep(delay);
      const index = await barrier.wait();
      passedAt.push(clock.now());
      return index;
    };
    const indices = await gather([party(30), party(10), party(20)], { clock });
    expect(indices).toEqual([2, 0, 1]);
    expect(passedAt).toEqual([30, 30, 30]);
    expect(barrier.waiting).toBe(0);
    const again = await gather([party(5), party(5), party(5)], { clock });
    expect([...again].sort()).toEqual([0, 1, 2]);
  });

  test('a cancelled waiter leaves the round; abort() breaks it', async () => {
    const barrier = new Barrier(2);
    const controller = new AbortController();
    const left = barrier.wait({ signal: controller.signal });
    controller.abort(new Error('left'));
    await expect(left).rejects.toThrow('left');
    expect(barrier.waiting).toBe(0);
    const waiting = barrier.wait();
    barrier.abort();
    await expect(waiting).rejects.toBeInstanceOf(BrokenBarrierError);
    await expect(barrier.wait()).rejects.toBeInstanceOf(BrokenBarrierError);
    barrier.reset();
    expect(barrier.broken).toBe(false);
  });

  test('bad input', () => {
    expect(() => new Barrier(0)).toThrow(RangeError);
    expect(() => new Barrier(Number.POSITIVE_INFINITY)).toThrow(/finite/);
  });
});
