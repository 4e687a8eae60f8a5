/**
 * `@weft/http/effect`: `@effect/platform`'s `HttpClient` backed by a weft client, so Effect
 * programs get weft's retries, limits, rate limiting, hooks and timeouts. `effect` and
 * `@effect/platform` are optional peer dependencies: only this entry imports them.
 *
 * @example
 * ```ts
 * import { HttpClient } from '@effect/platform';
 * import { layer } from '@weft/http/effect';
 * import { Effect } from 'effect';
 *
 * const status = await Effect.runPromise(
 *   HttpClient.get('/health').pipe(
 *     Effect.map((res) => res.status),
 *     Effect.provide(layer({ baseUrl: 'http://127.0.0.1:8080', timeout: 2000 })),
 *   ),
 * );
 * ```
 *
 * @module
 */
export { layer, make } from './layer.ts';
