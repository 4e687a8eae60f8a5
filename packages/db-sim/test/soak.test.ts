import * as core from '@weft/core';
import { describe, expect, test } from 'vitest';
import * as dbSim from '../src/index.ts';
import { runChaos } from './chaos.ts';
import { collectUnhandled } from './helpers.ts';

describe('chaos soak: money transfers through the pool with faults at 5%', () => {
  test('2,000 transfers: pool idle, nothing leaked, balances conserved, replay gives the same trace', async () => {
    let first: Awaited<ReturnType<typeof runChaos>> | undefined;
    const unhandled = await collectUnhandled(async () => {
      first = await runChaos(core, dbSim, { operations: 2000, seed: 2026 });
    });
    expect(unhandled).toEqual([]);
    expect(first!.problems).toEqual([]);
    expect(first!.acknowledged + first!.failed).toBe(2000);
    // Faults happened, and some commits had to be reconciled by reading back.
    expect(first!.reconciled).toBeGreaterThan(0);
    // Some transfers failed for good (6 attempts each): none of them may be visible.
    expect(first!.failed).toBeGreaterThan(0);
    expect(first!.acknowledged).toBeGreaterThan(1700);
    for (const kind of ['reset', 'failure', 'stall', 'refused', 'commit-unknown']) {
      expect(first!.faults[kind], kind).toBeGreaterThan(10);
    }
    const replay = await runChaos(core, dbSim, { operations: 2000, seed: 2026 });
    expect(replay).toEqual(first);
    const other = await runChaos(core, dbSim, { operations: 200, seed: 7 });
    expect(other.problems).toEqual([]);
    expect(other.hash).not.toBe(first!.hash);
  }, 120_000);
});
