import type { Example } from './example.ts';
import { partA } from './examples/part-a.ts';
import { partB } from './examples/part-b.ts';
import { effectHttp } from './examples/20-effect-http.ts';

/** Every example, in the order of the tutorials (1–19), then the integrations. */
export const examples: readonly Example[] = [...partA, ...partB, effectHttp];

/** Finds an example by number (`4`, `04`) or name (`gather`). */
export function findExample(key: string): Example | undefined {
  if (/^\d+$/.test(key)) return examples.find((e) => e.number === Number(key));
  return examples.find((e) => e.name === key);
}
