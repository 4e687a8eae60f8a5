import { describe, expect, test } from 'vitest';
import { countingController } from '../test/helpers.ts';
import { Event } from './event.ts';

describe('Event', () => {
  test('set() wakes every waiter; later waits pass at once until clear()', async () => {
    const event = new Event();
    const woken: number[] = [];
    const waits = [1, 2, 3].map((n) => event.wait().then(() => woken.push(n)));
    expect(event.waiting).toBe(3);
    event.set();
    await Promise.all(waits);
    expect(woken).toEqual([1, 2, 3]);
    expect(event.isSet).toBe(true);
    await event.wait();
    event.clear();
    let passed = false;
    const later = event.wait().then(() => {
      passed = true;
    });
    await Promise.resolve();
    expect(passed).toBe(false);
    event.set();
    await later;
  });

  test('a cancelled wait rejects with the reason and leaves no listener', async () => {
    const event = new Event();
    const c = countingController();
    const waiting = event.wait({ signal: c.signal });
    expect(c.listeners()).toBe(1);
    c.controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(event.waiting).toBe(0);
    const d = countingController();
    const w = event.wait({ signal: d.signal });
    event.set();
    await w;
    expect(d.listeners()).toBe(0);
  });
});
