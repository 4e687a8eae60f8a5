// How the examples print values: one line in the shape Node's console.log gives small
// objects and arrays (`{ userId: 1, title: 'delectus aut autem' }`, `[ 'slideshow' ]`),
// the same on Node, Bun and Deno (their own inspectors differ in details and wrap long
// lines at different widths).

/** Formats a JSON-like value on one line, the way `console.log` shows small values. */
export function inspect(value: unknown): string {
  if (typeof value === 'string')
    return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (Array.isArray(value)) {
    return value.length === 0 ? '[]' : `[ ${value.map(inspect).join(', ')} ]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    return `{ ${entries.map(([key, v]) => `${/^[A-Za-z_$][\w$]*$/.test(key) ? key : inspect(key)}: ${inspect(v)}`).join(', ')} }`;
  }
  return String(value);
}
