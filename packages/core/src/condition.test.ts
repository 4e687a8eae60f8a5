import { describe, expect, test } from 'vitest';
import { CancelledError } from './errors.ts';
import { Condition } from './condition.ts';
import { gather } from './gather.ts';
import { sleep } from './sleep.ts';
import { TestClock } from './test-clock.ts';

describe('Condition', () => {
  test('producer/consumer: waitFor releases the lock while waiting and holds it after', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const cond = new Condition();
    const items: number[] = [];
    const consumed: number[] = [];
    const consumer = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        using _lock = await cond.acquire();
        await cond.waitFor(() => items.length > 0);
        expect(cond.locked).toBe(true);
        consumed.push(items.shift()!);
      }
    };
    const producer = async (): Promise<void> => {
      for (let i = 1; i <= 3; i++) {
        await sleep(10);
        using _lock = await cond.acquire();
        items.push(i);
        cond.notify();
      }
    };
    await gather([consumer, producer], { clock });
    expect(consumed).toEqual([1, 2, 3]);
    expect(cond.locked).toBe(false);
  });

  test('notifyAll wakes every waiter, one lock holder at a time', async () => {
    const cond = new Condition();
    let ready = false;
    let inside = 0;
    let peak = 0;
    const waiter = async (): Promise<void> => {
      using _lock = await cond.acquire();
      await cond.waitFor(() => ready);
      inside++;
      peak = Math.max(peak, inside);
      await Promise.resolve();
      inside--;
    };
    const all = Promise.all([waiter(), waiter(), waiter()]);
    await new Promise((r) => setTimeout(r, 0));
    expect(cond.waiting).toBe(3);
    {
      using _lock = await cond.acquire();
      ready = true;
      cond.notifyAll();
    }
    await all;
    expect(peak).toBe(1);
  });

  test('a cancelled wait takes the lock back before it rejects', async () => {
    const cond = new Condition();
    const controller = new AbortController();
    const reason = new CancelledError('stop');
    const lock = await cond.acquire();
    const waiting = cond.wait({ signal: controller.signal });
    expect(cond.locked).toBe(false); // released while waiting
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(cond.locked).toBe(true); // held again: the caller's release is valid
    lock.release();
    expect(cond.locked).toBe(false);
  });

  test('wait and notify without the lock throw', async () => {
    const cond = new Condition();
    await expect(cond.wait()).rejects.toThrow(TypeError);
    expect(() => cond.notify()).toThrow(/needs the lock/);
  });
});
