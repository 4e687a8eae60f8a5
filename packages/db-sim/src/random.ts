/**
 * A seeded source of random numbers: the same seed gives the same sequence on every
 * runtime, so a simulated run (latencies, faults) replays exactly.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** `true` with probability `p` (0 ≤ p ≤ 1). */
  chance(p: number): boolean;
  /** The seed this source started from. */
  readonly seed: number;
}

import { describe } from './internal/validate.ts';

function mix(v: number): number {
  // splitmix32: spreads nearby seeds (1, 2, 3…) over the whole state space.
  let z = v + 0x9e3779b9;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function hashSeed(seed: number): number {
  // A 32-bit seed hashes as it always did (recorded seeds replay the same run); the high
  // bits of a larger one are mixed in rather than dropped (review D10: seeds 2^32 apart,
  // e.g. two `Date.now()` values, gave the same run).
  if (seed === (seed | 0)) return mix(seed);
  const high = Math.floor(seed / 4294967296);
  return mix((seed | 0) ^ mix(high | 0) ^ Math.imul(mix((high / 4294967296) | 0), 31));
}

/**
 * Checks a seed: a safe integer (a `TypeError` when it is no number, a `RangeError` for a
 * fraction, a non-finite or an unsafe number). `name` names it in the message.
 */
export function assertSeed(name: string, seed: unknown): asserts seed is number {
  if (typeof seed !== 'number') {
    throw new TypeError(`Expected \`${name}\` to be a safe integer, got ${describe(seed)}`);
  }
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`Expected \`${name}\` to be a safe integer, got ${describe(seed)}`);
  }
}

/**
 * Creates a {@link Random} from an integer seed (mulberry32 generator: fast, 32-bit
 * state, good enough for simulation, not for cryptography). Any safe integer is a seed
 * (a larger one's high bits count too); a fraction or an unsafe number is a `RangeError`,
 * a non-number a `TypeError`.
 *
 * @example
 * ```ts
 * import { createRandom } from '@weft/db-sim';
 *
 * const a = createRandom(42);
 * const b = createRandom(42);
 * console.log(a.int(1, 6) === b.int(1, 6)); // true
 * ```
 */
export function createRandom(seed: number): Random {
  assertSeed('seed', seed);
  let state = hashSeed(seed);
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    int(min: number, max: number): number {
      if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
        throw new RangeError(`Expected integers \`min\` <= \`max\`, got \`${min}\` and \`${max}\``);
      }
      return min + Math.floor(next() * (max - min + 1));
    },
    chance(p: number): boolean {
      if (typeof p !== 'number' || Number.isNaN(p) || p < 0 || p > 1) {
        throw new RangeError(
          `Expected \`p\` to be a probability from 0 to 1, got \`${String(p)}\``,
        );
      }
      return next() < p;
    },
  };
}
