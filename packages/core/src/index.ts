export { type AsCompletedOptions, asCompleted } from './as-completed.ts';
export { type CallerContext, type CallerOptions, callerContext } from './caller.ts';
export { type Clock, systemClock } from './clock.ts';
export {
  CancelledError,
  isCancellation,
  TaskGroupError,
  attachSuppressed,
  suppressedErrors,
  TimeoutError,
  unwrapError,
  WeftSuppressedError,
} from './errors.ts';
export {
  type GatherInput,
  type GatherItem,
  type GatherOptions,
  type GatherValue,
  gather,
  settle,
} from './gather.ts';
export { type MapOptions, type Mapper, map, mapSettled } from './map.ts';
export { any, type RaceOptions, race } from './race.ts';
export { type RunOptions, run } from './run.ts';
export { currentScope, currentTask, onCurrentSettled } from './current.ts';
export { Scope, type ScopeOptions, type ScopeState, type SettledState, scope } from './scope.ts';
export { type ShieldOptions, shield } from './shield.ts';
export { type SleepOptions, sleep } from './sleep.ts';
export type {
  SpawnOptions,
  StartContext,
  Task,
  TaskContext,
  TaskFn,
  TaskState,
} from './task.ts';
export { TestClock, type TestClockOptions } from './test-clock.ts';
export {
  deadline,
  type MoveOnResult,
  moveOnAfter,
  type TimeoutOptions,
  timeout,
} from './timeout.ts';
export { Barrier, BrokenBarrierError } from './barrier.ts';
export { Condition } from './condition.ts';
export { Event } from './event.ts';
export { type BatchOptions, batch } from './iter/batch.ts';
export { type BufferOptions, buffer } from './iter/buffer.ts';
export { type MapConcurrentOptions, mapConcurrent } from './iter/map-concurrent.ts';
export { type MergeOptions, merge } from './iter/merge.ts';
export { type TakeOptions, take } from './iter/take.ts';
export type { PipeOptions } from './internal/pipe.ts';
export { Queue, type QueueOptions, QueueShutDownError, type ShutdownOptions } from './queue.ts';
export { RateLimiter, type RateLimiterOptions } from './rate-limiter.ts';
export {
  type RetryContext,
  RetryError,
  type RetryEvent,
  type RetryOptions,
  retry,
} from './retry.ts';
export { Mutex, Semaphore } from './semaphore.ts';
export type {
  AcquireOptions,
  AsyncPermit,
  Permit,
  QueueLike,
  RateAcquireOptions,
  RateLimiterLike,
  RunContext,
  RunFn,
  SemaphoreLike,
} from './interfaces.ts';
export {
  runInWorker,
  WorkerError,
  WorkerPool,
  type WorkerPoolOptions,
  type WorkerRunOptions,
} from './worker.ts';
export {
  type EventLoopBlock,
  type EventLoopMonitor,
  type EventLoopMonitorOptions,
  monitorEventLoop,
} from './diagnostics/event-loop.ts';
export {
  type RenderTimelineOptions,
  renderGantt,
  renderTimelineSvg,
  type TimelineSpan,
} from './diagnostics/timeline.ts';
export {
  type FormatTaskTreeOptions,
  formatTaskTree,
  type TaskTreeNode,
} from './diagnostics/tree.ts';
export {
  type InstrumentHooks,
  type Instrumentation,
  instrument,
  recordTimeline,
  Timeline,
  type TimelineOptions,
} from './diagnostics/instrument.ts';
export type { StuckReport } from './diagnostics/stuck.ts';
export type { DumpSignal } from './runtime/signals.ts';
