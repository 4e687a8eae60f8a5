import { describe, expect, test } from 'vitest';
import { networkCode } from './network.ts';

// The shapes each runtime's fetch produced against a local server (see
// test/client.integration.test.ts for the live versions).
describe('networkCode normalises each runtime’s network errors', () => {
  test('Node (undici): TypeError("fetch failed") with a system error as cause', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    });
    expect(networkCode(refused)).toBe('ECONNREFUSED');
    const closed = new TypeError('terminated', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(networkCode(closed)).toBe('ECONNRESET');
  });

  test('Bun: the code on the TypeError itself', () => {
    const refused = Object.assign(new TypeError('ECONNREFUSED: Unable to connect.'), {
      code: 'ECONNREFUSED',
    });
    expect(networkCode(refused)).toBe('ECONNREFUSED');
    expect(networkCode(Object.assign(new TypeError('closed'), { code: 'ConnectionClosed' }))).toBe(
      'ECONNRESET',
    );
  });

  test('Deno: a connection closed before the response is ECONNRESET (review D12)', () => {
    const closed = new TypeError('fetch failed', {
      cause: new Error(
        'error sending request from 127.0.0.1:1 for http://127.0.0.1:2/ (127.0.0.1:2): client error (SendRequest): connection closed before message completed',
      ),
    });
    expect(networkCode(closed)).toBe('ECONNRESET');
  });

  test('Deno: only messages', () => {
    const refused = new TypeError('fetch failed', {
      cause: new Error(
        'error sending request for url (http://127.0.0.1:1/): client error (Connect): tcp connect error: Connection refused (os error 111)',
      ),
    });
    expect(networkCode(refused)).toBe('ECONNREFUSED');
    expect(networkCode(new TypeError('error reading a body from connection'))).toBe('ECONNRESET');
    expect(
      networkCode(
        new TypeError('fetch failed', { cause: new Error('dns error: failed to lookup address') }),
      ),
    ).toBe('ENOTFOUND');
  });

  test('an unknown failure has no code', () => {
    expect(networkCode(new TypeError('something else'))).toBeUndefined();
    expect(networkCode('a string')).toBeUndefined();
  });
});
