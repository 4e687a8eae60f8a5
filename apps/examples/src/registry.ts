import type { Example } from './example.ts';
import { blockingVsConcurrent } from './examples/blocking-vs-concurrent.ts';
import { effectHttp } from './examples/effect-http.ts';

/** Every example, in the order of the tutorials, then the integrations. */
export const examples: readonly Example[] = [blockingVsConcurrent, effectHttp];
