import type { Random } from './random.ts';
import {
  assertDuration,
  assertFiniteDuration,
  assertOptions,
  assertRate,
  describe,
} from './internal/validate.ts';

/**
 * Seeded fault rates of a simulated database, each a probability from 0 to 1 per
 * operation. All default to 0. The same seed draws the same faults in the same places.
 *
 * @example
 * ```ts
 * import { TestClock } from '@weft/core';
 * import { createDatabase } from '@weft/db-sim';
 *
 * const db = createDatabase({
 *   seed: 7,
 *   clock: new TestClock({ autoAdvance: true }),
 *   faults: { disconnectRate: 0.05, commitUnknownRate: 0.01, stallRate: 0.02, stallMs: 5000 },
 * });
 * ```
 */
export interface FaultOptions {
  /** A statement fails with `XX000` before it runs (nothing applied). @default 0 */
  queryFailureRate?: number;
  /**
   * The connection resets while a statement, a cursor fetch, a BEGIN, a savepoint or a
   * COMMIT is on the wire: `08006`, nothing of that statement applied, an open
   * transaction lost, the connection unusable. @default 0
   */
  disconnectRate?: number;
  /** A statement stalls for `stallMs` more before it runs (only a timeout or a signal ends it early). @default 0 */
  stallRate?: number;
  /** How long a stall lasts, in ms. @default 60000 */
  stallMs?: number;
  /** `connect` (and a pool growing) is refused with `08001`. @default 0 */
  refuseRate?: number;
  /**
   * A COMMIT is applied on the server, then the connection drops before the client hears
   * back: `08007`, and the client cannot know the outcome without reading back. @default 0
   */
  commitUnknownRate?: number;
}

/** Latency of each round trip: a fixed ms, a seeded uniform `{ min, max }`, or a function of the seeded source. */
export type LatencyOption = number | { min: number; max: number } | ((random: Random) => number);

/** What the seeded source decided for one operation, drawn before it starts. */
export interface Plan {
  latency: number;
  stall: boolean;
  fail: boolean;
  disconnect: boolean;
  refuse: boolean;
  commitUnknown: boolean;
}

export type OperationKind = 'connect' | 'statement' | 'fetch' | 'commit' | 'quiet';

const FAULT_KEYS = [
  'queryFailureRate',
  'disconnectRate',
  'stallRate',
  'stallMs',
  'refuseRate',
  'commitUnknownRate',
];

export class FaultModel {
  readonly #random: Random;
  readonly #latency: (random: Random) => number;
  readonly queryFailureRate: number;
  readonly disconnectRate: number;
  readonly stallRate: number;
  readonly stallMs: number;
  readonly refuseRate: number;
  readonly commitUnknownRate: number;

  constructor(
    random: Random,
    latency: LatencyOption | undefined,
    faults: FaultOptions | undefined,
  ) {
    this.#random = random;
    this.#latency = latencyFn(latency);
    assertOptions('options.faults', faults, FAULT_KEYS);
    const rate = (key: keyof FaultOptions): number => {
      const v = faults?.[key] ?? 0;
      assertRate(`options.faults.${key}`, v);
      return v;
    };
    this.queryFailureRate = rate('queryFailureRate');
    this.disconnectRate = rate('disconnectRate');
    this.stallRate = rate('stallRate');
    this.refuseRate = rate('refuseRate');
    this.commitUnknownRate = rate('commitUnknownRate');
    const stallMs = faults?.stallMs ?? 60_000;
    assertFiniteDuration('options.faults.stallMs', stallMs);
    this.stallMs = stallMs;
  }

  #chance(p: number): boolean {
    return p > 0 && this.#random.chance(p);
  }

  /** Draws the latency and faults of one operation (only the faults that apply to it). */
  plan(kind: OperationKind): Plan {
    const base = this.#latency(this.#random);
    if (typeof base !== 'number' || !Number.isFinite(base) || base < 0) {
      throw new RangeError(
        `Expected \`options.latency\` to give a finite number of ms from 0 up, got ${describe(base)}`,
      );
    }
    const plan: Plan = {
      latency: base,
      stall: false,
      fail: false,
      disconnect: false,
      refuse: false,
      commitUnknown: false,
    };
    if (kind === 'quiet') return plan;
    if (kind === 'connect') {
      plan.refuse = this.#chance(this.refuseRate);
      return plan;
    }
    plan.stall = this.#chance(this.stallRate);
    if (plan.stall) plan.latency += this.stallMs;
    plan.disconnect = this.#chance(this.disconnectRate);
    if (kind === 'statement') plan.fail = this.#chance(this.queryFailureRate);
    if (kind === 'commit') plan.commitUnknown = this.#chance(this.commitUnknownRate);
    return plan;
  }
}

function latencyFn(latency: LatencyOption | undefined): (random: Random) => number {
  if (latency === undefined) return (r) => 1 + r.next() * 4;
  if (typeof latency === 'number') {
    assertDuration('options.latency', latency);
    if (!Number.isFinite(latency)) {
      throw new RangeError(`Expected \`options.latency\` to be finite, got ${describe(latency)}`);
    }
    return () => latency;
  }
  if (typeof latency === 'function') return latency;
  if (typeof latency !== 'object' || latency === null) {
    throw new TypeError(
      `Expected \`options.latency\` to be a number, \`{ min, max }\` or a function, got ${describe(latency)}`,
    );
  }
  assertOptions('options.latency', latency, ['min', 'max']);
  const { min, max } = latency;
  assertFiniteDuration('options.latency.min', min);
  assertFiniteDuration('options.latency.max', max);
  if (max < min) {
    throw new RangeError(
      `Expected \`options.latency.max\` to be at least \`min\` (${min}), got ${describe(max)}`,
    );
  }
  if (min === max) return () => min;
  return (r) => min + r.next() * (max - min);
}
