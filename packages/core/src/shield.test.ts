import { describe, expect, test } from 'vitest';
import { CancelledError, TimeoutError } from './errors.ts';
import { scope } from './scope.ts';
import { shield } from './shield.ts';
import { sleep } from './sleep.ts';
import { TestClock } from './test-clock.ts';
import { timeout } from './timeout.ts';

describe('shield', () => {
  test('lets the inner work finish when the outer scope is cancelled, then raises the cancellation', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    const reason = new CancelledError('shutdown');
    let raised: unknown;
    await scope(
      async (s) => {
        const t = s.spawn(async () => {
          try {
            await sleep(10_000);
          } finally {
            try {
              await shield(async () => {
                await sleep(300); // a rollback that must finish
                events.push('rolled back');
              });
            } catch (e) {
              raised = e;
            }
          }
        });
        await sleep(10);
        t.cancel(reason);
      },
      { clock },
    );
    expect(events).toEqual(['rolled back']);
    expect(raised).toBe(reason);
    expect(clock.now()).toBe(310);
  });

  test('without a shield, awaiting in finally of a cancelled task fails at once (level-triggered)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    await scope(
      async (s) => {
        const t = s.spawn(async () => {
          try {
            await sleep(10_000);
          } finally {
            await sleep(300).then(
              () => events.push('rolled back'),
              () => events.push('cleanup cancelled'),
            );
          }
        });
        await sleep(10);
        t.cancel();
      },
      { clock },
    );
    expect(events).toEqual(['cleanup cancelled']);
  });

  test('ignores enclosing deadlines; an explicit timeout inside still works', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let finished = false;
    const error = await timeout(
      10,
      async () => {
        await shield(async () => {
          await sleep(100);
          finished = true;
        });
      },
      { clock },
    ).catch((e: unknown) => e);
    expect(finished).toBe(true);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(clock.now()).toBe(100);
    await expect(shield(() => timeout(5, () => sleep(50)), { clock })).rejects.toBeInstanceOf(
      TimeoutError,
    );
  });

  test('returns the value when nothing was cancelled, and rethrows inner failures', async () => {
    await expect(shield(() => 7)).resolves.toBe(7);
    const failure = new Error('inner');
    await expect(
      shield(() => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    await expect(shield(5 as never)).rejects.toThrow(TypeError);
  });
});
