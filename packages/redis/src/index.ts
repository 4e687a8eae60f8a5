/**
 * `@weft/redis`: weft's rate limiter, semaphore and queue shared by many processes and
 * machines through Redis. Every decision is one atomic Lua script on the server's clock.
 *
 * @module
 */
export { type RedisAdapter, toRedisAdapter } from './client.ts';
export { ClosedError, LeaseLostError, RedisCommandError, WeftRedisError } from './errors.ts';
export {
  type RedisRateAcquireOptions,
  RedisRateLimiter,
  type RedisRateLimiterOptions,
  type RedisRatePermit,
} from './rate-limiter.ts';
export {
  type QueueCodec,
  type RedisMessage,
  RedisQueue,
  type RedisQueueOptions,
  type RedisQueueWaitOptions,
} from './queue.ts';
export {
  type RedisAcquireOptions,
  type RedisPermit,
  type RedisRunContext,
  RedisSemaphore,
  type RedisSemaphoreOptions,
} from './semaphore.ts';
