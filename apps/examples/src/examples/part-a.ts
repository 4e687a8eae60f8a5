// Examples 1–10, in tutorial order.
import type { Example } from '../example.ts';
import { blockingCode } from './01-blocking-code.ts';

export const partA: readonly Example[] = [blockingCode];
