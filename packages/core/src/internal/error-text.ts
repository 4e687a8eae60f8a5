/**
 * How weft names a thrown value inside its own messages (`TaskGroupError`, `RetryError`,
 * warnings): `Name: message` for an error, its string form otherwise. It never throws: a
 * value that cannot be turned into text (a null-prototype object, a Proxy whose traps
 * throw, a throwing `toString` or `message` getter) is described by its type, so building
 * the message of the error that carries it can never replace or lose that value.
 */
export function errorText(value: unknown): string {
  try {
    if (value instanceof Error) return `${String(value.name)}: ${String(value.message)}`;
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return `[unprintable ${value === null ? 'null' : typeof value}]`;
    }
  }
}
