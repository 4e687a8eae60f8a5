// Smoke checks of the packed @weft/http (with @weft/core): real requests to a local
// node:http server (Node's own, Bun's and Deno's node:http), from import and require.
'use strict';

const nodeHttp = require('node:http');

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** Serves `handler` on 127.0.0.1, port 0, for the length of `fn`. */
async function withServer(handler, fn) {
  const server = nodeHttp.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await fn(`http://127.0.0.1:${server.address().port}`);
  } finally {
    if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function httpChecks({ core, http }) {
  const { createClient, HttpError, NetworkError, TimeoutError } = http;
  return {
    'http: GET JSON, POST JSON, a retried 503 and an HttpError against a local server':
      async () => {
        let flaky = 0;
        await withServer(
          (req, res) => {
            let body = '';
            req.on('data', (chunk) => {
              body += chunk;
            });
            req.on('end', () => {
              if (req.url === '/flaky' && flaky++ === 0) {
                res.writeHead(503, { 'retry-after': '1' });
                return res.end('busy');
              }
              if (req.url === '/missing') {
                res.writeHead(404);
                return res.end('no such thing');
              }
              res.writeHead(200, { 'content-type': 'application/json' });
              res.end(JSON.stringify({ method: req.method, url: req.url, body }));
            });
          },
          async (baseUrl) => {
            const clock = new core.TestClock({ autoAdvance: true });
            const client = createClient({ baseUrl, clock, timeout: Number.POSITIVE_INFINITY });
            try {
              const got = await client.get('/posts/1', { query: { a: 1 } }).json();
              assert(got.method === 'GET' && got.url === '/posts/1?a=1', JSON.stringify(got));
              const posted = await client.post('/posts', { json: { title: 'hi' } }).json();
              assert(posted.body === '{"title":"hi"}', JSON.stringify(posted));
              const retried = await client.get('/flaky').json();
              assert(retried.url === '/flaky' && flaky === 2, `flaky ${flaky}`);
              assert(clock.now() === 1000, `Retry-After on the clock: ${clock.now()}`);
              let error;
              try {
                await client.get('/missing').text();
              } catch (e) {
                error = e;
              }
              assert(error instanceof HttpError && error.status === 404, String(error));
              assert(client.active === 0, `active ${client.active}`);
            } finally {
              await client.close();
            }
          },
        );
      },
    'http: a closed port is a NetworkError; a timeout is a TimeoutError': async () => {
      const port = await withServer(
        () => {},
        async (url) => Number(new URL(url).port),
      );
      const client = createClient({ baseUrl: `http://127.0.0.1:${port}`, retry: false });
      let error;
      try {
        await client.get('/').text();
      } catch (e) {
        error = e;
      }
      assert(error instanceof NetworkError && error.code === 'ECONNREFUSED', String(error));
      await withServer(
        () => {}, // never answers
        async (baseUrl) => {
          const slow = createClient({ baseUrl, retry: false, timeout: 50 });
          let timedOut;
          try {
            await slow.get('/').text();
          } catch (e) {
            timedOut = e;
          }
          assert(timedOut instanceof TimeoutError, String(timedOut));
          await slow.close();
        },
      );
    },
  };
}

module.exports = { httpChecks };
