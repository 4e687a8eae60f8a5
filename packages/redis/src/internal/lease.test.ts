import { describe, expect, test } from 'vitest';
import { LeaseLostError } from '../errors.ts';
import { Lease, Renewals, stopLease } from './lease.ts';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Lease `i` of `ms` on `renewals`: Redis confirms every renewal, counted in `counts[i]`. */
const counted = (i: number, ms: number, renewals: Renewals, counts: number[]): Lease =>
  new Lease(
    `lease ${i}`,
    ms,
    performance.now(),
    async () => {
      counts[i]! += 1;
      return true;
    },
    renewals,
  );

describe('Lease', () => {
  test('renewals that Redis confirms keep the lease past many lease lengths', async () => {
    let renewals = 0;
    // A lease long enough that a loaded machine's late timers (tens of ms) do not lose it.
    const lease = new Lease('test', 300, performance.now(), async () => {
      renewals++;
      return true;
    });
    await tick(1200);
    expect(lease.signal.aborted).toBe(false);
    expect(renewals).toBeGreaterThanOrEqual(3);
    stopLease(lease);
  });

  test('a renewal that Redis refuses aborts the signal with LeaseLostError', async () => {
    const lease = new Lease('permit 1', 60, performance.now(), async () => false);
    await new Promise((resolve) => lease.signal.addEventListener('abort', resolve, { once: true }));
    expect(lease.signal.reason).toBeInstanceOf(LeaseLostError);
    expect((lease.signal.reason as Error).message).toContain('no longer holds');
  });

  test('a confirmation that arrives after the lease ran out confirms nothing', async () => {
    // The renewal is sent at 20 ms and confirmed 100 ms later: past the 60 ms lease.
    const lease = new Lease('permit 2', 60, performance.now(), async () => {
      await tick(100);
      return true;
    });
    await new Promise((resolve) => lease.signal.addEventListener('abort', resolve, { once: true }));
    expect((lease.signal.reason as Error).message).toContain('could not be renewed in time');
  });

  test('after stop(), nothing renews and the signal never aborts', async () => {
    let renewals = 0;
    const lease = new Lease('test', 30, performance.now(), async () => {
      renewals++;
      return false;
    });
    stopLease(lease);
    await tick(120);
    expect(renewals).toBe(0);
    expect(lease.signal.aborted).toBe(false);
  });
  test('leases sharing one Renewals timer are each renewed; a stopped one is not; then no timer keeps the process alive', async () => {
    // Timers that keep the process alive (Node and Deno count them; Bun reports none).
    const timers = (): number =>
      process.getActiveResourcesInfo?.().filter((r) => r === 'Timeout').length ?? 0;
    const before = timers();
    const renewals = new Renewals();
    const counts = [0, 0, 0];
    const leases = counts.map((_, i) => counted(i, 300, renewals, counts));
    expect(renewals.referenced).toBe(true);
    await tick(150);
    stopLease(leases[1]!);
    const stopped = counts[1]!;
    await tick(1050);
    expect(counts[0]).toBeGreaterThanOrEqual(3);
    expect(counts[2]).toBeGreaterThanOrEqual(3);
    expect(counts[1]).toBe(stopped);
    expect(leases.map((l) => l.signal.aborted)).toEqual([false, false, false]);
    stopLease(leases[0]!);
    stopLease(leases[2]!);
    // The timer may stay armed, unreferenced, until it fires with nothing due.
    expect(renewals.referenced).toBe(false);
    expect(timers()).toBeLessThanOrEqual(before);
  });

  test('leases of one length fall due in the order they were added: a firing stops at the first not due, and none is skipped', async () => {
    const renewals = new Renewals();
    const counts: number[] = [];
    const leases: Lease[] = [];
    // Staggered, as permits taken one after another are.
    for (let i = 0; i < 40; i++) {
      counts.push(0);
      leases.push(counted(i, 300, renewals, counts));
      await tick(3);
    }
    await tick(1100);
    expect(renewals.ordered).toBe(true);
    expect(leases.filter((l) => l.signal.aborted)).toEqual([]);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(3);
    for (const lease of leases) stopLease(lease);
    expect(renewals.referenced).toBe(false);
  });

  test('a lease added with an earlier due time than one before it is still renewed on time (the scan then visits every lease)', async () => {
    const renewals = new Renewals();
    let long = 0;
    let short = 0;
    // Renewed every 300 ms, then one renewed every 50 ms: due before it, added after it.
    const a = new Lease('long', 900, performance.now(), async () => ++long > 0, renewals);
    const b = new Lease('short', 150, performance.now(), async () => ++short > 0, renewals);
    expect(renewals.ordered).toBe(false);
    await tick(700);
    expect([a.signal.aborted, b.signal.aborted]).toEqual([false, false]);
    expect(short).toBeGreaterThanOrEqual(6);
    expect(long).toBeGreaterThanOrEqual(1);
    stopLease(a);
    stopLease(b);
    // Order is assumed again once no lease is left.
    expect(renewals.ordered).toBe(true);
  });
});
