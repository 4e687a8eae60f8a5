// A seeded fault soak: random sequences of server behaviour (statuses with and without
// Retry-After, refused connections, hung responses, bodies that break off, success),
// random retry limits and methods, on virtual time. Whatever happens, the request ends in
// success or in one of the documented typed errors, never tries more than allowed, never
// retries POST, and leaves no timer, request or unhandled rejection behind. fast-check
// prints the seed of a failing run so that it replays exactly.
import { TestClock } from '@weft/core';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { collectUnhandled } from '../../core/test/helpers.ts';
import { createClient, HttpError, NetworkError, TimeoutError } from '../src/index.ts';

type Step =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; retryAfter: number | undefined }
  | { kind: 'refused' }
  | { kind: 'hang' }
  | { kind: 'broken' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant<Step>({ kind: 'ok' }),
  fc.record({
    kind: fc.constant('status' as const),
    status: fc.constantFrom(400, 404, 408, 429, 500, 502, 503, 504),
    retryAfter: fc.option(fc.constantFrom(0, 1, 3, 120), { nil: undefined }),
  }),
  fc.constant<Step>({ kind: 'refused' }),
  fc.constant<Step>({ kind: 'hang' }),
  fc.constant<Step>({ kind: 'broken' }),
);

function respond(s: Step, signal: AbortSignal): Promise<Response> {
  switch (s.kind) {
    case 'ok':
      return Promise.resolve(new Response('fine'));
    case 'status':
      return Promise.resolve(
        new Response(`status ${s.status}`, {
          status: s.status,
          headers: s.retryAfter === undefined ? {} : { 'retry-after': String(s.retryAfter) },
        }),
      );
    case 'refused':
      return Promise.reject(
        Object.assign(new TypeError('fetch failed'), {
          cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
        }),
      );
    case 'hang':
      return new Promise((_, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    case 'broken': {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('part'));
          controller.error(new TypeError('terminated'));
        },
      });
      return Promise.resolve(new Response(body));
    }
  }
}

describe('fault soak (property)', () => {
  test('every fault sequence ends in success or a typed error, within the retry budget, leaving nothing behind', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom('GET', 'PUT', 'POST'),
        async (script, limit, method) => {
          const clock = new TestClock({ autoAdvance: true });
          let calls = 0;
          const fetch = (_input: string | URL | Request, init?: RequestInit): Promise<Response> => {
            const s = script[Math.min(calls, script.length - 1)]!;
            calls++;
            return respond(s, init!.signal!);
          };
          const http = createClient({ fetch, clock, timeout: 1000, retry: limit });
          let outcome: unknown;
          const unhandled = await collectUnhandled(async () => {
            outcome = await http
              .request('http://soak.test/x', { method })
              .text()
              .catch((error: unknown) => error);
          });
          expect(unhandled).toEqual([]);
          expect(calls).toBeGreaterThanOrEqual(1);
          expect(calls).toBeLessThanOrEqual(method === 'POST' ? 1 : limit + 1);
          const last = script[Math.min(calls - 1, script.length - 1)]!;
          if (outcome === 'fine') expect(last.kind).toBe('ok');
          else if (outcome instanceof HttpError) {
            expect(last.kind).toBe('status');
            expect(outcome.status).toBe((last as { status: number }).status);
          } else if (outcome instanceof NetworkError) {
            expect(['refused', 'broken']).toContain(last.kind);
          } else if (outcome instanceof TimeoutError) {
            expect(last.kind).toBe('hang');
          } else {
            throw new Error(`unexpected outcome ${String(outcome)}`);
          }
          expect(http.active).toBe(0);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
