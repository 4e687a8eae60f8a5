/* global Request, Response */
// Checks of the Effect subpaths of the packed packages, run after `effect` (an optional
// peer) has been installed into the smoke project. Prints one `SMOKE {json}` line.
import { gather, sleep, TestClock, TimeoutError, timeout } from '@weft/core';
import { EffectDefectError, fromEffect, TaskRejectedError, toEffect } from '@weft/core/effect';
import * as HttpClient from '@effect/platform/HttpClient';
import * as HttpClientError from '@effect/platform/HttpClientError';
import { createClient, NetworkError } from '@weft/http';
import { layer } from '@weft/http/effect';
import { Effect, Exit, Fiber } from 'effect';

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const checks = {
  'core/effect: a weft timeout interrupts the fiber after its finalizer ran': async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events = [];
    const program = Effect.never.pipe(
      Effect.ensuring(Effect.sleep('100 millis').pipe(Effect.andThen(() => events.push('fin')))),
    );
    const error = await timeout(10, fromEffect(program), { clock }).catch((e) => e);
    assert(error instanceof TimeoutError, String(error));
    assert(events.join() === 'fin' && clock.now() === 110, `${events} at ${clock.now()}`);
  },
  'core/effect: failures stay themselves, defects become EffectDefectError': async () => {
    const failure = new Error('fail');
    assert((await gather([fromEffect(Effect.fail(failure))]).catch((e) => e)) === failure, 'fail');
    const defect = await gather([fromEffect(Effect.die('bug'))]).catch((e) => e);
    assert(defect instanceof EffectDefectError && defect.defect === 'bug', String(defect));
  },
  'core/effect: interrupting the fiber aborts the weft task and waits for its finally':
    async () => {
      const clock = new TestClock({ autoAdvance: true });
      const events = [];
      let started;
      const ready = new Promise((resolve) => (started = resolve));
      const fiber = Effect.runFork(
        toEffect(
          async () => {
            try {
              started();
              await sleep(60_000);
            } finally {
              events.push('finally');
            }
          },
          { clock },
        ),
      );
      await ready;
      const exit = await Effect.runPromise(Fiber.interrupt(fiber));
      assert(Exit.isInterrupted(exit) && events.join() === 'finally', events.join());
      const rejected = await Effect.runPromiseExit(toEffect(() => Promise.reject(new Error('x'))));
      assert(
        Exit.isFailure(rejected) && rejected.cause.error instanceof TaskRejectedError,
        'TaskRejectedError',
      );
    },
  'http/effect: the Layer retries a 503 through weft; any status is a response': async () => {
    let calls = 0;
    const fetch = async (input) => {
      calls++;
      const path = new URL(input instanceof Request ? input.url : input).pathname;
      if (path === '/flaky' && calls < 3) return new Response('busy', { status: 503 });
      if (path === '/missing') return new Response('no such thing', { status: 404 });
      return Response.json({ path, calls });
    };
    const http = createClient({ fetch, retry: { limit: 3, backoff: { initial: 0 } } });
    const provide = Effect.provide(layer(http));
    const ok = await Effect.runPromise(
      HttpClient.get('http://127.0.0.1:1/flaky').pipe(
        Effect.flatMap((res) => res.json),
        provide,
      ),
    );
    assert(ok.calls === 3, JSON.stringify(ok));
    const missing = await Effect.runPromise(
      HttpClient.get('http://127.0.0.1:1/missing').pipe(provide),
    );
    assert(missing.status === 404, String(missing.status));
    assert((await Effect.runPromise(missing.text)) === 'no such thing', 'body');
    assert(http.active === 0, `active ${http.active}`);
    await http.close();
  },
  'http/effect: a transport failure is a RequestError with the weft error as cause': async () => {
    const fetch = async () => {
      throw new TypeError('fetch failed');
    };
    const http = createClient({ fetch, retry: false });
    const exit = await Effect.runPromiseExit(
      HttpClient.get('http://127.0.0.1:1/x').pipe(Effect.provide(layer(http))),
    );
    const error = Exit.isFailure(exit) ? exit.cause.error : undefined;
    assert(
      error instanceof HttpClientError.RequestError &&
        error.reason === 'Transport' &&
        error.cause instanceof NetworkError,
      String(error),
    );
    await http.close();
  },
};

let passed = 0;
const failures = [];
for (const [name, fn] of Object.entries(checks)) {
  try {
    await fn();
    passed++;
  } catch (error) {
    failures.push(`${name}: ${error?.stack ?? error}`);
  }
}
console.log(
  `SMOKE ${JSON.stringify({ label: 'effect', passed, failed: failures.length, failures })}`,
);
