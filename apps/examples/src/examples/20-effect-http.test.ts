import { expect, test } from 'vitest';
import { runForTest } from '../testing.ts';
import { effectHttp } from './20-effect-http.ts';

test('fetches JSON through Effect HttpClient backed by weft, which retries the first 503', async () => {
  const { lines } = await runForTest(effectHttp);
  expect(lines).toEqual([
    'service: call 1 -> 503',
    'service: call 2 -> 200',
    'effect: {"id":42,"name":"widget","inStock":3}',
  ]);
});
