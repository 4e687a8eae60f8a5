export { type Clock, systemClock } from './clock.ts';
export {
  CancelledError,
  isCancellation,
  TaskGroupError,
  TimeoutError,
  unwrapError,
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
export { Scope, type ScopeOptions, scope } from './scope.ts';
export { type ShieldOptions, shield } from './shield.ts';
export { type SleepOptions, sleep } from './sleep.ts';
export type { SpawnOptions, Task, TaskContext, TaskFn, TaskState } from './task.ts';
export { TestClock, type TestClockOptions } from './test-clock.ts';
export { deadline, moveOnAfter, type TimeoutOptions, timeout } from './timeout.ts';
