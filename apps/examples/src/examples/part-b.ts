// Examples 11–19, in tutorial order.
import type { Example } from '../example.ts';
import { semaphoreExample } from './11-semaphore.ts';
import { httpClient } from './12-http-client.ts';
import { cpuBound } from './13-cpu-bound.ts';
import { commonMistakes } from './14-common-mistakes.ts';
import { fetchDataExample } from './15-fetch-data.ts';
import { tasksForControl } from './16-tasks-for-control.ts';
import { fetchManyUrls } from './17-fetch-many-urls.ts';
import { settledErrors } from './18-settled-errors.ts';
import { runFromSync } from './19-run-from-sync.ts';

export const partB: readonly Example[] = [
  semaphoreExample,
  httpClient,
  cpuBound,
  commonMistakes,
  fetchDataExample,
  tasksForControl,
  fetchManyUrls,
  settledErrors,
  runFromSync,
];
