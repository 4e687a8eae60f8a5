// @weft/http/effect: an Effect program fetches JSON through Effect's own HttpClient, and
// the requests go through a weft client (its retries, timeout and limits). A local Hono
// service answers the first call with 503; weft retries it, and Effect sees only the 200.
import * as HttpClient from '@effect/platform/HttpClient';
import * as HttpClientResponse from '@effect/platform/HttpClientResponse';
import { systemClock } from '@weft/core';
import { layer } from '@weft/http/effect';
import { Effect, Schema } from 'effect';
import { Hono } from 'hono';
import type { Example } from '../example.ts';
import { serveLocal } from '../runner/serve-local.ts';

const Item = Schema.Struct({ id: Schema.Number, name: Schema.String, inStock: Schema.Number });

/** A tiny inventory service that fails its first call, as a busy service might. */
function inventoryApp(log: (line: string) => void): Hono {
  const app = new Hono();
  let calls = 0;
  app.get('/items/:id', (c) => {
    calls++;
    if (calls === 1) {
      log(`service: call ${calls} -> 503`);
      return c.text('busy, try again', 503);
    }
    log(`service: call ${calls} -> 200`);
    return c.json({ id: Number(c.req.param('id')), name: 'widget', inStock: 3 });
  });
  return app;
}

export const effectHttp: Example = {
  number: 20,
  name: 'effect-http',
  title: "Effect's HttpClient backed by weft (@weft/http/effect): a 503 retried by weft",
  section: 'Not a tutorial section: the Effect interop (@weft/http/effect)',
  async run({ log }) {
    await using server = await serveLocal(inventoryApp(log).fetch);
    // Effect code, written against Effect's HttpClient service only.
    const program = Effect.gen(function* () {
      const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk);
      const res = yield* client.get('/items/42');
      return yield* HttpClientResponse.schemaBodyJson(Item)(res);
    });
    // The layer creates the weft client and closes it when the program ends. The
    // example runs on a virtual clock; the network does not, so the client keeps to
    // real time (its own `clock`).
    const WeftHttp = layer({
      baseUrl: server.url,
      retry: { limit: 2, backoff: { initial: 20 } },
      timeout: 5000,
      clock: systemClock,
    });
    const item = await Effect.runPromise(program.pipe(Effect.provide(WeftHttp)));
    log(`effect: ${JSON.stringify(item)}`);
  },
};
