import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { DEFAULT_POLICY, backoffDelay, parseHttpDate, resolveRetry, serverDelay } from './retry.ts';

/** `date` in asctime form (`Sun Nov  6 08:49:37 1994`), written from its UTC fields. */
function asctime(date: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][date.getUTCDay()];
  const month = date.toUTCString().slice(8, 11);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${day} ${month} ${String(date.getUTCDate()).padStart(2, ' ')} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} ${date.getUTCFullYear()}`;
}

describe('serverDelay', () => {
  test('a Retry-After that is neither seconds nor an HTTP date is ignored (review D7)', () => {
    for (const value of ['-1', '-5', '1,5', 'soon', '2001-05']) {
      expect(serverDelay(new Headers({ 'retry-after': value }), Date.now())).toBeUndefined();
    }
    // The three HTTP date forms are still read.
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    for (const value of [
      'Wed, 21 Oct 2015 07:28:30 GMT',
      'Wednesday, 21-Oct-15 07:28:30 GMT',
      'Wed Oct 21 07:28:30 2015',
    ]) {
      expect(serverDelay(new Headers({ 'retry-after': value }), now)).toBe(30_000);
    }
  });

  test('Retry-After in seconds and as an HTTP date', () => {
    expect(serverDelay(new Headers({ 'retry-after': '5' }), 0)).toBe(5000);
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(serverDelay(new Headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:30 GMT' }), now)).toBe(
      30_000,
    );
    expect(serverDelay(new Headers({ 'retry-after': 'Wed, 21 Oct 2015 07:27:00 GMT' }), now)).toBe(
      0,
    );
  });

  test('RateLimit-Reset and the combined RateLimit header', () => {
    expect(serverDelay(new Headers({ 'ratelimit-reset': '7' }), 0)).toBe(7000);
    expect(serverDelay(new Headers({ ratelimit: 'limit=10, remaining=0, reset=3' }), 0)).toBe(3000);
  });

  test('an asctime Retry-After is UTC, in any time zone of the machine (review rv-http10 X5)', () => {
    // RFC 9110 §5.6.7: asctime writes no zone and means UTC. Date.parse reads a zone-less
    // date as local time, which differs from this in every time zone but UTC.
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
    expect(parseHttpDate('Sun Nov 16 08:49:37 1994')).toBe(Date.UTC(1994, 10, 16, 8, 49, 37));
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
    expect(parseHttpDate('Sun Nov 36 08:49:37 1994')).toBeNaN();
    expect(parseHttpDate('-5')).toBeNaN();
    const now = Date.UTC(2026, 10, 23, 19, 59, 12, 300);
    const header = asctime(new Date(now + 5000));
    expect(header).toBe('Mon Nov 23 19:59:17 2026');
    expect(serverDelay(new Headers({ 'retry-after': header }), now)).toBe(4700);
  });

  test('an asctime Retry-After gives the same wait under TZ=Asia/Tokyo and TZ=America/New_York (review rv-http10 X5)', () => {
    // A child process of this runtime, with the time zone set in its environment only.
    const module = new URL('./retry.ts', import.meta.url).href;
    const code = `const { serverDelay } = await import(${JSON.stringify(module)});
const now = Date.UTC(2026, 10, 23, 19, 59, 12, 300);
console.log(serverDelay(new Headers({ 'retry-after': 'Mon Nov 23 19:59:17 2026' }), now));`;
    const deno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';
    const bun = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined';
    const args = deno
      ? ['eval', '--ext=ts', code]
      : bun
        ? ['-e', code]
        : ['--input-type=module', '-e', code];
    for (const tz of ['Asia/Tokyo', 'America/New_York']) {
      const child = spawnSync(process.execPath, args, {
        env: { ...process.env, TZ: tz },
        encoding: 'utf8',
      });
      expect(child.stderr).toBe('');
      expect({ tz, delay: child.stdout.trim() }).toEqual({ tz, delay: '4700' });
    }
  });

  test('RateLimit with several quota items: the largest reset among the exhausted ones (review rv-http10 X9)', () => {
    const delay = (value: string): number | undefined =>
      serverDelay(new Headers({ ratelimit: value }), 0);
    expect(delay('"burst";r=10;t=1, "daily";r=0;t=3600')).toBe(3_600_000);
    expect(delay('"a";r=0;t=5, "b";r=0;t=60, "c";r=3;t=900')).toBe(60_000);
    expect(delay('"a";t=60;r=0, "b";r=1;t=2')).toBe(60_000);
    // A comma inside a quoted name does not split an item.
    expect(delay('"x, y";r=5;t=1, "z";r=0;t=30')).toBe(30_000);
    // None exhausted: the first item's, as before.
    expect(delay('"burst";r=10;t=1, "daily";r=500;t=3600')).toBe(1000);
    expect(delay('limit=10, remaining=0, reset=3')).toBe(3000);
  });

  test('nothing or garbage: undefined', () => {
    expect(serverDelay(new Headers(), 0)).toBeUndefined();
    expect(serverDelay(new Headers({ 'retry-after': 'soon' }), 0)).toBeUndefined();
  });
});

describe('parseHttpDate (review rv-http11 X4, X8)', () => {
  test('a date with a named zone other than GMT is read in that zone, as Date.parse reads it (X4)', () => {
    const gmt = Date.UTC(2094, 10, 6, 8, 49, 37);
    expect(parseHttpDate('Sun, 06 Nov 2094 08:49:37 PST')).toBe(gmt + 8 * 3_600_000);
    expect(parseHttpDate('Sun, 06 Nov 2094 08:49:37 EDT')).toBe(gmt + 4 * 3_600_000);
    expect(parseHttpDate('Sun, 06 Nov 2094 08:49:37 CST')).toBe(gmt + 6 * 3_600_000);
    expect(parseHttpDate('Sun, 06 Nov 2094 08:49:37 +0900')).toBe(gmt - 9 * 3_600_000);
    expect(parseHttpDate('Sun, 06 Nov 2094 08:49:37 UTC')).toBe(gmt);
    expect(parseHttpDate('sun, 06 nov 2094 08:49:37 gmt')).toBe(gmt);
    // No zone at all: GMT.
    expect(parseHttpDate('Sun, 06 Nov 2094 08:49:37')).toBe(gmt);
    const now = Date.UTC(2094, 10, 6, 8, 0, 0);
    const headers = new Headers({ 'retry-after': 'Sun, 06 Nov 2094 08:49:37 PST' });
    expect(serverDelay(headers, now)).toBe(49 * 60_000 + 37_000 + 8 * 3_600_000);
  });

  test('impossible dates are no dates, in every form; second 60 is the next minute in every form (X4)', () => {
    for (const text of [
      'Sun, 30 Feb 2094 08:49:37 GMT',
      'Sun Feb 30 08:49:37 2094',
      'Sunday, 30-Feb-94 08:49:37 GMT',
      'Sun, 31 Apr 2094 08:49:37 GMT',
      'Sun, 29 Feb 2093 08:49:37 GMT',
      'Sun, 06 Nov 2094 24:00:00 GMT',
      'Sun Nov  6 24:00:00 2094',
      'Sun, 06 Nov 2094 08:60:00 GMT',
      'Sun, 00 Nov 2094 08:49:37 GMT',
    ]) {
      expect([text, parseHttpDate(text)]).toEqual([text, Number.NaN]);
    }
    expect(parseHttpDate('Mon, 29 Feb 2096 08:49:37 GMT')).toBe(Date.UTC(2096, 1, 29, 8, 49, 37));
    // A four-digit year is that year, 0094 included (Date.UTC would read it as 1994).
    const year94 = new Date(0);
    year94.setUTCFullYear(94, 10, 6);
    expect(parseHttpDate('Sun, 06 Nov 0094 00:00:00 GMT')).toBe(year94.getTime());
    expect(parseHttpDate('Sun Nov  6 00:00:00 0094')).toBe(year94.getTime());
    const next = Date.UTC(2094, 10, 7, 0, 0, 0);
    expect(parseHttpDate('Sun, 06 Nov 2094 23:59:60 GMT')).toBe(next);
    expect(parseHttpDate('Sun Nov  6 23:59:60 2094')).toBe(next);
    expect(serverDelay(new Headers({ 'retry-after': 'Sun, 30 Feb 2094 08:49:37 GMT' }), 0)).toBe(
      undefined,
    );
  });

  test('an RFC 850 two-digit year more than 50 years ahead is of the century before (X4)', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseHttpDate('Saturday, 01-Jan-50 00:00:00 GMT', now)).toBe(Date.UTC(2050, 0, 1));
    expect(parseHttpDate('Saturday, 01-Jan-76 00:00:00 GMT', now)).toBe(Date.UTC(2076, 0, 1));
    expect(parseHttpDate('Saturday, 02-Jan-76 00:00:00 GMT', now)).toBe(Date.UTC(1976, 0, 2));
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(
      Date.UTC(1994, 10, 6, 8, 49, 37),
    );
    // Late in a century, a small year is of the next one.
    const late = Date.UTC(2094, 10, 6);
    expect(parseHttpDate('Sunday, 06-Nov-10 08:49:37 GMT', late)).toBe(
      Date.UTC(2110, 10, 6, 8, 49, 37),
    );
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', late)).toBe(
      Date.UTC(2094, 10, 6, 8, 49, 37),
    );
  });

  test('a value over 200 characters is no date; a long run of month names is rejected at once (X8)', () => {
    // Before the fix the first was read as a date, and the second cost O(n²) (64 KB: 600 ms).
    expect(parseHttpDate(`Sun,${' '.repeat(200)}06 Nov 2094 08:49:37 GMT`)).toBeNaN();
    expect(parseHttpDate('Jan '.repeat(16_000))).toBeNaN();
    expect(serverDelay(new Headers({ 'retry-after': 'Jan '.repeat(16_000) }), 0)).toBeUndefined();
    // Within the cap, the month name need only come before the time.
    expect(parseHttpDate(`${'Jan '.repeat(40)}08:49:37`)).toBeNaN();
    expect(parseHttpDate('Sun, 06 Nov 2094 08:49:37 GMT')).toBe(Date.UTC(2094, 10, 6, 8, 49, 37));
  });
});

describe('retry policy', () => {
  test('a number is the limit; false is none; an object merges over the base', () => {
    expect(resolveRetry('retry', 5, DEFAULT_POLICY).limit).toBe(5);
    expect(resolveRetry('retry', false, DEFAULT_POLICY).limit).toBe(0);
    const p = resolveRetry('retry', { methods: ['post'] }, DEFAULT_POLICY);
    expect([...p.methods]).toEqual(['POST']);
    expect(p.limit).toBe(2);
  });

  test('backoff grows by the factor up to the cap', () => {
    const p = resolveRetry(
      'retry',
      { backoff: { jitter: 'none', initial: 100, factor: 3, max: 1000 } },
      DEFAULT_POLICY,
    );
    expect([1, 2, 3, 4].map((n) => backoffDelay(p, n, Math.random))).toEqual([100, 300, 900, 1000]);
  });

  test('bad values are named', () => {
    expect(() => resolveRetry('options.retry', { limit: -1 }, DEFAULT_POLICY)).toThrow(
      'Expected `options.retry.limit` to be an integer from 0 and up, got `-1` (number)',
    );
    expect(() => resolveRetry('options.retry', { statusCodes: [99] }, DEFAULT_POLICY)).toThrow(
      TypeError,
    );
    expect(() => resolveRetry('options.retry', 'x' as never, DEFAULT_POLICY)).toThrow(TypeError);
  });
});

describe('parseHttpDate: the RFC 850 50-year boundary is in calendar years (review rv-http12 X6)', () => {
  test('a date 50 calendar years after now, to the second, is of this century; a second later, of the last', () => {
    const now = Date.UTC(2026, 10, 23, 20, 0, 0);
    // 49 years 364 days 23 h ahead: 2076 (an average year read it as 1976).
    expect(parseHttpDate('Monday, 23-Nov-76 19:00:00 GMT', now)).toBe(
      Date.UTC(2076, 10, 23, 19, 0, 0),
    );
    expect(parseHttpDate('Monday, 23-Nov-76 20:00:00 GMT', now)).toBe(
      Date.UTC(2076, 10, 23, 20, 0, 0),
    );
    expect(parseHttpDate('Monday, 23-Nov-76 20:00:01 GMT', now)).toBe(
      Date.UTC(1976, 10, 23, 20, 0, 1),
    );
    expect(parseHttpDate('Sunday, 22-Nov-76 00:00:00 GMT', now)).toBe(
      Date.UTC(2076, 10, 22, 0, 0, 0),
    );
  });
});
