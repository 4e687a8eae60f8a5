import type { Example } from './example.ts';
import { blockingVsConcurrent } from './examples/blocking-vs-concurrent.ts';

/** Every example, in the order of the tutorials. */
export const examples: readonly Example[] = [blockingVsConcurrent];
