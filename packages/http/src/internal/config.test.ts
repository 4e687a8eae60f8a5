// joinBaseUrl's trim (rv-http11 X7): the same result as the URL parser's own trimming, in
// linear work.
import { describe, expect, test } from 'vitest';
import { charCodeAtCalls } from '../../test/observe.ts';
import { createClient } from '../index.ts';
import { joinBaseUrl, parserTrim } from './config.ts';

// The trimming as the quadratic regex before the fix wrote it: the reference on short inputs.
// eslint-disable-next-line no-control-regex -- the parser's own set, control characters included
const REFERENCE = /^[\u0000-\u0020]+|[\u0000-\u0020]+$|[\t\n\r]/g;

describe('parserTrim', () => {
  test('trims C0 controls and spaces at the ends, removes tabs and newlines anywhere', () => {
    expect(parserTrim('  \t/a b\n c\r\n \u0000')).toBe('/a b c');
    expect(parserTrim('\u0001\u001f //x')).toBe('//x');
    expect(parserTrim('')).toBe('');
    expect(parserTrim('   ')).toBe('');
    expect(parserTrim('/a\u00a0')).toBe('/a\u00a0');
  });

  test('agrees with the former regex on random short inputs', () => {
    const alphabet = [' ', '\t', '\n', '\r', '\u0000', '\u001f', 'a', '/', '\\', '\u00a0', '%'];
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < 2000; i++) {
      let input = '';
      const length = Math.floor(next() * 12);
      for (let j = 0; j < length; j++) input += alphabet[Math.floor(next() * alphabet.length)];
      expect(parserTrim(input)).toBe(input.replace(REFERENCE, ''));
    }
  });

  test('100 000 spaces inside or around the input: the right result, each end character looked at once', async () => {
    // Before the fix, 80 000 spaces inside took 2.2 s (quadratic backtracking); the work
    // here is counted, not timed: charCodeAt calls for the two end scans.
    const n = 100_000;
    let inside = '';
    let around = '';
    const insideCalls = await charCodeAtCalls(() => {
      inside = parserTrim(`/a${' '.repeat(n)}b`);
    });
    const calls = await charCodeAtCalls(() => {
      around = parserTrim(`${' '.repeat(n)}/x${' '.repeat(n)}`);
    });
    expect(inside).toBe(`/a${' '.repeat(n)}b`);
    expect(insideCalls).toBe(2);
    expect(around).toBe('/x');
    expect(calls).toBe(2 * n + 2);
  });
});

describe('joinBaseUrl with a long run of spaces (X7)', () => {
  test('the path keeps its spaces (percent-encoded by the URL), under the base', async () => {
    const n = 100_000;
    const base = new URL('http://api.test/v1/');
    expect(joinBaseUrl(base, `/search/a${' '.repeat(n)}b`)).toBe(
      `http://api.test/v1/search/a${' '.repeat(n)}b`,
    );
    let seen = '';
    const http = createClient({
      baseUrl: 'http://api.test/v1',
      fetch: (async (input: string | URL | Request) => {
        seen = String(input);
        return new Response('ok');
      }) as typeof fetch,
    });
    expect(await http.get(`/search?q=a${' '.repeat(n)}b`).text()).toBe('ok');
    expect(seen).toBe(`http://api.test/v1/search?q=a${'%20'.repeat(n)}b`);
    await http.close();
  });
});
