/**
 * The base of every error `@weft/redis` raises itself (cancellations keep weft's
 * `CancelledError`/`TimeoutError` and the signal's reason). Catch it to handle any
 * coordination failure at once; `cause` holds the underlying client error when there is one.
 *
 * @example
 * ```ts
 * import { WeftRedisError } from '@weft/redis';
 *
 * try {
 *   await limiter.acquire();
 * } catch (err) {
 *   if (err instanceof WeftRedisError) console.error('coordination failed:', err.message);
 *   else throw err;
 * }
 * ```
 */
export class WeftRedisError extends Error {
  override readonly name: string = 'WeftRedisError';
}

/**
 * A Redis command or script failed (connection refused or lost, a script error, an
 * unexpected reply). `cause` is the client's own error. Nothing was granted: a failed
 * `acquire` holds no permit and used no capacity that this process knows of (if the
 * connection dropped after the server ran the script, the grant is lost with the lease,
 * or stays in the rate window: it is counted, never double-counted).
 *
 * @example
 * ```ts
 * import { RedisCommandError } from '@weft/redis';
 *
 * try {
 *   await sem.acquire();
 * } catch (err) {
 *   if (err instanceof RedisCommandError) console.error('Redis unavailable', err.cause);
 * }
 * ```
 */
export class RedisCommandError extends WeftRedisError {
  override readonly name: 'RedisCommandError' = 'RedisCommandError';
  /** The command that failed (`EVALSHA`, `XREADGROUP`…). */
  readonly command: string;

  constructor(command: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`Redis ${command} failed: ${detail}`, { cause });
    this.command = command;
  }
}

/**
 * A lease could not be confirmed in time: a semaphore permit's lease (or a queue message's
 * visibility) expired before it was renewed, or Redis answered that it belongs to nobody
 * any more. Another process may now hold the same permit or message: stop the work and do
 * not write with the old fencing token. Permit and message `signal`s abort with this error.
 *
 * @example
 * ```ts
 * import { LeaseLostError } from '@weft/redis';
 *
 * await using permit = await sem.acquire();
 * permit.signal.addEventListener('abort', () => {
 *   if (permit.signal.reason instanceof LeaseLostError) console.warn('lease lost; stopping');
 * });
 * ```
 */
export class LeaseLostError extends WeftRedisError {
  override readonly name: 'LeaseLostError' = 'LeaseLostError';
}

/**
 * The primitive was closed (`close()` or `await using`) while the call waited, or was
 * called after it was closed.
 *
 * @example
 * ```ts
 * import { ClosedError } from '@weft/redis';
 *
 * await queue.close();
 * await queue.get().catch((err) => console.log(err instanceof ClosedError)); // true
 * ```
 */
export class ClosedError extends WeftRedisError {
  override readonly name: 'ClosedError' = 'ClosedError';
}
