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

function hashSeed(seed: number): number {
  // splitmix32: spreads nearby seeds (1, 2, 3…) over the whole state space.
  let z = (seed | 0) + 0x9e3779b9;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Creates a {@link Random} from an integer seed (mulberry32 generator: fast, 32-bit
 * state, good enough for simulation, not for cryptography).
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
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new TypeError(
      `Expected \`seed\` to be an integer, got \`${String(seed)}\` (${typeof seed})`,
    );
  }
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
