import { describe, expect, test } from 'vitest';
import {
  BODY_EXCERPT_LIMIT,
  HttpClientError,
  HttpError,
  NetworkError,
  SchemaError,
} from './errors.ts';

const request = { method: 'get', url: 'http://127.0.0.1:8080/posts/1' };

describe('http errors', () => {
  test('HttpError keeps status, method, url and a bounded body excerpt', () => {
    const body = 'x'.repeat(BODY_EXCERPT_LIMIT * 3);
    const err = new HttpError(request, 503, 'Service Unavailable', body);
    expect(err).toBeInstanceOf(HttpClientError);
    expect(err.name).toBe('HttpError');
    expect(err.status).toBe(503);
    expect(err.method).toBe('GET');
    expect(err.url).toBe(request.url);
    expect(err.bodyExcerpt.length).toBe(BODY_EXCERPT_LIMIT + 1);
    expect(
      err.message.startsWith('GET http://127.0.0.1:8080/posts/1 → 503 Service Unavailable: xxx'),
    ).toBe(true);
  });

  test('an excerpt is the body itself up to the limit, else its start and …, never half a surrogate pair', () => {
    const exact = 'y'.repeat(BODY_EXCERPT_LIMIT);
    expect(new HttpError(request, 500, '', exact).bodyExcerpt).toBe(exact);
    const cut = new HttpError(request, 500, '', `${exact}z`).bodyExcerpt;
    expect(cut).toBe(`${exact}…`);
    // An emoji (two UTF-16 units) straddling the limit is left out whole.
    const straddling = `${'y'.repeat(BODY_EXCERPT_LIMIT - 1)}😀tail`;
    const excerpt = new HttpError(request, 500, '', straddling).bodyExcerpt;
    expect(excerpt).toBe(`${'y'.repeat(BODY_EXCERPT_LIMIT - 1)}…`);
    expect(/[\uD800-\uDBFF]$/.test(excerpt.slice(0, -1))).toBe(false);
  });

  test('NetworkError keeps the runtime error as cause', () => {
    const cause = new TypeError('fetch failed');
    const err = new NetworkError(request, cause);
    expect(err.cause).toBe(cause);
    expect(err.message).toBe('GET http://127.0.0.1:8080/posts/1 failed: fetch failed');
  });

  test('SchemaError names the first issue and its path', () => {
    const err = new SchemaError(request, [
      { message: 'Expected number', path: ['user', { key: 'id' }] },
      { message: 'Required', path: ['title'] },
    ]);
    expect(err.message).toBe(
      'GET http://127.0.0.1:8080/posts/1: response body does not match the schema: user.id: Expected number (and 1 more)',
    );
    expect(err.issues).toHaveLength(2);
  });
});
