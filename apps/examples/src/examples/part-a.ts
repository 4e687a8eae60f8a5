// Examples 1–10, in tutorial order.
import type { Example } from '../example.ts';
import { blockingCode } from './01-blocking-code.ts';
import { asyncAwait } from './02-async-await.ts';
import { runEntryPoint } from './03-run-entry-point.ts';
import { gatherExample } from './04-gather.ts';
import { createTask } from './05-create-task.ts';
import { errorHandling } from './06-error-handling.ts';
import { returnExceptions } from './07-return-exceptions.ts';
import { asyncFor } from './08-async-for.ts';
import { asyncWith } from './09-async-with.ts';
import { timeouts } from './10-timeouts.ts';

export const partA: readonly Example[] = [
  blockingCode,
  asyncAwait,
  runEntryPoint,
  gatherExample,
  createTask,
  errorHandling,
  returnExceptions,
  asyncFor,
  asyncWith,
  timeouts,
];
