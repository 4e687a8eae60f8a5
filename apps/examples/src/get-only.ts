// 405 for a method a route does not answer (review dbx10 X7), shared by the dashboard
// service and the mock upstream API.
import type { Hono } from 'hono';

/** What a GET route answers: Hono serves HEAD with the GET handler. */
export const GET_ONLY = 'GET, HEAD';

/**
 * Answers any method but GET and HEAD on each of `paths` (routes `app` serves with
 * `app.get`, registered before this call) with `405 Method Not Allowed` and an `Allow`
 * header, as RFC 9110 (§15.5.6) asks. Without it Hono answered 404 Not Found, telling a
 * client that POSTs to a real resource that it does not exist.
 */
export function getOnly(app: Hono, paths: readonly string[]): void {
  for (const path of paths) {
    app.all(path, (c) =>
      c.json({ error: `${c.req.method} is not allowed here: ${path} answers ${GET_ONLY}` }, 405, {
        Allow: GET_ONLY,
      }),
    );
  }
}
