// Examples 11–19, in tutorial order.
import type { Example } from '../example.ts';

export const partB: readonly Example[] = [];
