import { assertOptions, describe } from '../internal/validate.ts';

/**
 * The options check every helper shares: an object holding `required` (its defining
 * number), and no key outside `known`. A bare number (the old positional form) gets a
 * message that shows the object form.
 */
export function assertHelperOptions(
  options: unknown,
  required: string,
  known: readonly string[],
  example: string,
): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `Expected \`options\` to be an object with \`${required}\` (like \`${example}\`), got ${describe(options)}`,
    );
  }
  assertOptions('options', options, known);
}
