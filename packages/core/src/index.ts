export { type Clock, systemClock } from './clock.js';
export {
  CancelledError,
  isCancellation,
  TaskGroupError,
  TimeoutError,
  unwrapError,
} from './errors.js';
export { type GatherItem, type GatherOptions, type GatherValue, gather, settle } from './gather.js';
export { type Mapper, type MapOptions, map, mapSettled } from './map.js';
export { any, type RaceOptions, race } from './race.js';
export { type RunOptions, run } from './run.js';
export { Scope, type ScopeOptions, scope } from './scope.js';
export { type ShieldOptions, shield } from './shield.js';
export { type SleepOptions, sleep } from './sleep.js';
export type { SpawnOptions, Task, TaskContext, TaskFn, TaskState } from './task.js';
export { TestClock, type TestClockOptions } from './test-clock.js';
export { deadline, moveOnAfter, type TimeoutOptions, timeout } from './timeout.js';
