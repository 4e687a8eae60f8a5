// Statistics shared by the benchmarks that alternate subjects in short blocks (the Redis
// suite, http-runtimes.ts).

/**
 * The 90% interval of `sum(a) / sum(b)` by paired bootstrap over blocks: 1000
 * resamplings in which a resampled block takes both `a[k]` and `b[k]` (measured side by
 * side, under the same load), and their 5th and 95th percentiles. Deterministic (a fixed
 * seed), so that two runs over the same samples print the same interval.
 */
export function pairedInterval(a: readonly number[], b: readonly number[]): [number, number] {
  if (a.length !== b.length || a.length === 0) {
    throw new RangeError(
      `Expected two equally long, non-empty sample lists, got ${a.length} and ${b.length}`,
    );
  }
  let seed = 0x2545f491;
  const random = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const ratios: number[] = [];
  for (let r = 0; r < 1000; r++) {
    let x = 0;
    let y = 0;
    for (let i = 0; i < a.length; i++) {
      const k = Math.floor(random() * a.length);
      x += a[k]!;
      y += b[k]!;
    }
    ratios.push(x / y);
  }
  ratios.sort((p, q) => p - q);
  return [ratios[50]!, ratios[949]!];
}
