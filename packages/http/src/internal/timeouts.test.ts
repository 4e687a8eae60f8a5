import { describe, expect, test } from 'vitest';
import { Timeouts } from './timeouts.ts';

/** A timeout whose firing is observable: when (performance.now()) and how often. */
function track(timeouts: Timeouts, ms: number) {
  const fired: number[] = [];
  let resolve!: () => void;
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  const entry = timeouts.add(ms, () => {
    fired.push(performance.now());
    resolve();
  });
  return { entry, fired, done };
}

describe('system-clock timeouts (one timer per duration)', () => {
  test('each timeout fires once, in order, never before its time, and the timer is gone after the last', async () => {
    const timeouts = new Timeouts();
    const a = track(timeouts, 15);
    const b = track(timeouts, 15);
    const c = track(timeouts, 5);
    expect(timeouts.armed).toBe(2);
    await Promise.all([a.done, b.done, c.done]);
    for (const t of [a, b, c]) {
      expect(t.fired).toHaveLength(1);
      expect(t.fired[0]).toBeGreaterThanOrEqual(t.entry.at);
    }
    expect(a.fired[0]).toBeLessThanOrEqual(b.fired[0]!);
    expect(timeouts.armed).toBe(0);
  });

  test('a cancelled timeout never fires; cancelling the last one removes the timer', async () => {
    const timeouts = new Timeouts();
    const a = track(timeouts, 5);
    const b = track(timeouts, 5);
    const c = track(timeouts, 5);
    b.entry.cancel();
    await Promise.all([a.done, c.done]);
    expect(b.fired).toHaveLength(0); // it was due before c fired
    const d = track(timeouts, 5);
    expect(timeouts.armed).toBe(1);
    d.entry.cancel();
    expect(timeouts.armed).toBe(0);
    expect(d.fired).toHaveLength(0);
  });

  test('cancelling twice, or after firing, changes nothing', async () => {
    const timeouts = new Timeouts();
    const a = track(timeouts, 1);
    await a.done;
    a.entry.cancel();
    const b = track(timeouts, 50);
    b.entry.cancel();
    b.entry.cancel();
    const c = track(timeouts, 1);
    expect(timeouts.armed).toBe(1);
    await c.done;
    expect(a.fired).toHaveLength(1);
    expect(b.fired).toHaveLength(0);
    expect(timeouts.armed).toBe(0);
  });

  test('a timeout set from a firing one is scheduled', async () => {
    const timeouts = new Timeouts();
    let inner: ReturnType<typeof track> | undefined;
    const outer = track(timeouts, 1);
    const nested = outer.done.then(() => {
      inner = track(timeouts, 1);
      return inner.done;
    });
    await nested;
    expect(inner!.fired).toHaveLength(1);
    expect(timeouts.armed).toBe(0);
  });

  test("a duration past setTimeout's limit does not fire early", async () => {
    const timeouts = new Timeouts();
    const far = track(timeouts, 2 ** 31 + 1000);
    // setTimeout(fn, 2 ** 31 + 1000) alone would fire after 1 ms.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(far.fired).toHaveLength(0);
    far.entry.cancel();
    expect(timeouts.armed).toBe(0);
  });
});
