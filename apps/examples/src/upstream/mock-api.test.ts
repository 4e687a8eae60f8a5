// The mock upstream's own behaviour: its delays and stalls end quietly when the client
// goes away, and its stalls are seeded.
import { TestClock } from '@weft/core';
import { expect, test } from 'vitest';
import { serveLocal } from '../runner/serve-local.ts';
import { createMockApi, type StallEvent } from './mock-api.ts';

/** Runs `fn` with console.error captured; returns what was printed. */
async function capturingErrors(fn: () => Promise<void>): Promise<unknown[][]> {
  const printed: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    printed.push(args);
  };
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return printed;
}

/** Resolves once `server` is handling a request (checked once per macrotask). */
async function handling(server: { handling: number }): Promise<void> {
  while (server.handling === 0) await new Promise((resolve) => setTimeout(resolve, 1));
}

test('a /delay whose client disconnects ends quietly: no error printed, no timer left', async () => {
  const clock = new TestClock();
  await using server = await serveLocal(createMockApi({ clock }).fetch);
  const printed = await capturingErrors(async () => {
    const client = new AbortController();
    const request = fetch(`${server.url}/delay/5`, { signal: client.signal }).catch(
      (error: unknown) => (error as Error).name,
    );
    await handling(server);
    expect(clock.pendingTimers).toBe(1);
    client.abort();
    expect(await request).toBe('AbortError');
    await server.idle();
  });
  expect(printed).toEqual([]);
  expect(clock.pendingTimers).toBe(0);
});

test('a /delay still answers after its delay, on the given clock', async () => {
  const clock = new TestClock();
  await using server = await serveLocal(createMockApi({ clock }).fetch);
  const response = fetch(`${server.url}/delay/2`);
  await handling(server);
  await clock.advance(2000);
  const res = await response;
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ delayed: 2 });
});

test('stalls are seeded: the same seed stalls the same places in the sequence', async () => {
  const stalledAt = async (seed: number): Promise<number[]> => {
    const stalled: number[] = [];
    let n = 0;
    const api = createMockApi({
      stall: { rate: 0.3, ms: 0, seed, onStall: () => stalled.push(n) },
    });
    for (n = 0; n < 40; n++) {
      const res = await api.request('/todos/1');
      expect(res.status).toBe(200);
    }
    return stalled;
  };
  const a = await stalledAt(7);
  expect(a.length).toBeGreaterThan(0);
  expect(a.length).toBeLessThan(40);
  expect(await stalledAt(7)).toEqual(a);
  expect(await stalledAt(8)).not.toEqual(a);
});

test('a stall ends with "served" after its time and "aborted" when the client goes', async () => {
  const clock = new TestClock();
  const ends: StallEvent[] = [];
  const api = createMockApi({
    clock,
    stall: { rate: 1, ms: 1000, onStallEnd: (e) => ends.push(e) },
  });
  await using server = await serveLocal(api.fetch);
  const served = fetch(`${server.url}/json`);
  await handling(server);
  await clock.advance(1000);
  expect((await served).status).toBe(200);
  await (await served).body?.cancel();

  const client = new AbortController();
  const aborted = fetch(`${server.url}/uuid`, { signal: client.signal }).catch(() => 'gone');
  await handling(server);
  client.abort();
  expect(await aborted).toBe('gone');
  await server.idle();
  expect(ends).toEqual([
    { path: '/json', outcome: 'served' },
    { path: '/uuid', outcome: 'aborted' },
  ]);
});

test('bad stall options are errors that name them', () => {
  expect(() => createMockApi({ stall: { rate: -1 } })).toThrow(
    'Expected `options.stall.rate` to be a number from 0 to 1, got `-1` (number)',
  );
  expect(() => createMockApi({ stall: { rate: 0.5, ms: Number.NaN } })).toThrow(
    'Expected `options.stall.ms` to be a finite number from 0 up, got `NaN` (number)',
  );
  expect(() => createMockApi({ stall: { rate: 0.5, sead: 3 } as never })).toThrow(
    /Unknown option `options.stall.sead`.*Did you mean `seed`\?/,
  );
});
