// Regression tests for defects the review rv-http13 found (X1, X2): each fails on the code
// before its fix.
import { CancelledError } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { settled } from '../test/observe.ts';
import { createClient, HttpError } from './index.ts';

describe('an onError hook that cancels its own request (X1)', () => {
  for (const how of ['the caller’s signal', 'close()'] as const) {
    test(`by ${how}, returning a promise: the request rejects with the canceller's reason, which later hooks see`, async () => {
      const fetch = (async () => new Response('no', { status: 500 })) as typeof globalThis.fetch;
      const controller = new AbortController();
      const reason = new Error('caller gave up');
      const seen: unknown[] = [];
      const http = createClient({
        fetch,
        retry: false,
        hooks: {
          onError: [
            (error) => {
              seen.push(error);
              if (how === 'close()') void http.close();
              else controller.abort(reason);
              return new Promise<void>(() => {});
            },
            (error) => {
              seen.push(error);
            },
          ],
        },
      });
      const outcome = await settled(
        http.get('http://x.test/', { signal: controller.signal }).text(),
      );
      expect(seen[0]).toBeInstanceOf(HttpError);
      if (how === 'close()') {
        expect(outcome).toBeInstanceOf(CancelledError);
        expect(seen[1]).toBe(outcome);
      } else {
        expect(outcome).toBe(reason);
        expect(seen[1]).toBe(reason);
      }
      await http.close();
      expect(http.active).toBe(0);
    });
  }
});

describe('what a beforeRequest hook may leave in request.url and request.headers (X2)', () => {
  test('headers replaced by a record or pairs: used, and credentials still dropped past an origin change', async () => {
    const sent: Array<[string, string | null, string | null]> = [];
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      const headers = new Headers(init?.headers);
      sent.push([url, headers.get('authorization'), headers.get('x-a')]);
      return url.startsWith('http://api.test/')
        ? new Response(null, { status: 302, headers: { location: 'http://other.test/x' } })
        : new Response('ok');
    }) as typeof globalThis.fetch;
    for (const replacement of [
      { authorization: 'Bearer t', 'x-a': '1' },
      [
        ['authorization', 'Bearer t'],
        ['x-a', '1'],
      ],
    ]) {
      sent.length = 0;
      const http = createClient({
        fetch,
        hooks: {
          beforeRequest: [
            (request) => {
              (request as { headers: unknown }).headers = replacement;
            },
          ],
        },
      });
      expect(await http.get('http://api.test/start').text()).toBe('ok');
      expect(sent).toEqual([
        ['http://api.test/start', 'Bearer t', '1'],
        ['http://other.test/x', null, '1'],
      ]);
    }
  });

  test('a URL string is taken; anything else is a TypeError naming request.url or request.headers', async () => {
    const seen: string[] = [];
    const fetch = (async (input: string | URL | Request) => {
      seen.push(String(input));
      return new Response('ok');
    }) as typeof globalThis.fetch;
    const edit = (field: 'url' | 'headers', value: unknown) =>
      createClient({
        fetch,
        hooks: {
          beforeRequest: [
            (request) => {
              (request as unknown as Record<string, unknown>)[field] = value;
            },
          ],
        },
      });
    expect(await edit('url', 'http://b.test/y').get('http://a.test/').text()).toBe('ok');
    expect(seen).toEqual(['http://b.test/y']);
    const badUrl = await settled(edit('url', 42).get('http://a.test/').text());
    expect(badUrl).toBeInstanceOf(TypeError);
    expect(String(badUrl)).toMatch(/`request\.url` a URL, got `42`/);
    const badHeaders = await settled(edit('headers', 7).get('http://a.test/').text());
    expect(badHeaders).toBeInstanceOf(TypeError);
    expect(String(badHeaders)).toMatch(/`request\.headers` headers/);
    expect(seen).toEqual(['http://b.test/y']);
  });
});
