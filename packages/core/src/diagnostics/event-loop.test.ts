import { describe, expect, test } from 'vitest';
import { countingController } from '../../test/helpers.ts';
import { type EventLoopBlock, monitorEventLoop } from './event-loop.ts';

// These tests need real time: a block is real CPU time on the loop. Thresholds leave a
// wide margin (a 200 ms block against 150 ms, a 5 ms one against the same 150 ms) so that
// a loaded machine does not turn scheduling noise into a verdict.
const THRESHOLD = 150;

const busyWait = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
};
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('monitorEventLoop', () => {
  test('reports a 200 ms busy-wait with its duration', async () => {
    const blocks: EventLoopBlock[] = [];
    using monitor = monitorEventLoop({
      threshold: THRESHOLD,
      interval: 10,
      onBlock: (b) => blocks.push(b),
    });
    busyWait(200);
    await pause(50);
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    // The check was due 10 ms after arming; the loop was busy for 200 ms after that.
    expect(blocks[0]!.duration).toBeGreaterThanOrEqual(185);
    expect(blocks[0]!.threshold).toBe(THRESHOLD);
    expect(monitor.blocks).toBe(blocks.length);
    expect(monitor.longest).toBeGreaterThanOrEqual(185);
  });

  test('stays quiet on a 5 ms busy-wait', async () => {
    const blocks: EventLoopBlock[] = [];
    using monitor = monitorEventLoop({ threshold: THRESHOLD, onBlock: (b) => blocks.push(b) });
    busyWait(5);
    await pause(60);
    expect(blocks).toEqual([]);
    expect(monitor.blocks).toBe(0);
  });

  test('reports nothing once stopped, and stopping twice is harmless', async () => {
    const blocks: EventLoopBlock[] = [];
    const monitor = monitorEventLoop({
      threshold: THRESHOLD,
      interval: 10,
      onBlock: (b) => blocks.push(b),
    });
    monitor.stop();
    monitor.stop();
    expect(monitor.stopped).toBe(true);
    busyWait(200);
    await pause(40);
    expect(blocks).toEqual([]);
  });

  test('stops when its signal aborts and removes its listener', async () => {
    const { controller, signal, listeners } = countingController();
    const blocks: EventLoopBlock[] = [];
    const monitor = monitorEventLoop({
      threshold: THRESHOLD,
      signal,
      onBlock: (b) => blocks.push(b),
    });
    expect(listeners()).toBe(1);
    controller.abort();
    expect(monitor.stopped).toBe(true);
    expect(listeners()).toBe(0);
    busyWait(200);
    await pause(40);
    expect(blocks).toEqual([]);
    expect(monitorEventLoop({ signal: AbortSignal.abort() }).stopped).toBe(true);
  });

  test('keeps running when onBlock throws', async () => {
    let calls = 0;
    const originalError = console.error;
    const logged: unknown[] = [];
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      using monitor = monitorEventLoop({
        threshold: THRESHOLD,
        interval: 10,
        onBlock: () => {
          calls++;
          throw new Error('bad hook');
        },
      });
      busyWait(200);
      await pause(30);
      busyWait(200);
      await pause(30);
      expect(calls).toBeGreaterThanOrEqual(2);
      expect(monitor.stopped).toBe(false);
      expect(logged.length).toBe(calls);
    } finally {
      console.error = originalError;
    }
  });

  test('validates its options', () => {
    expect(() => monitorEventLoop({ threshold: -1 })).toThrow(
      'Expected `options.threshold` to be a number of milliseconds from 0 up (or Infinity), got `-1` (number)',
    );
    expect(() => monitorEventLoop({ threshold: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => monitorEventLoop({ onBlock: 'log' as never })).toThrow(
      'Expected `options.onBlock` to be a function, got `log` (string)',
    );
    expect(() => monitorEventLoop({ interval: 0 })).toThrow(RangeError);
    expect(() => monitorEventLoop({ treshold: 10 } as never)).toThrow(/Did you mean `threshold`/);
  });
});
