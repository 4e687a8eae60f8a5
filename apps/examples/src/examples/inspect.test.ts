import { expect, test } from 'vitest';
import { inspect } from './inspect.ts';

test('prints small values on one line as console.log shows them', () => {
  expect(inspect({ userId: 1, id: 1, title: 'delectus aut autem', completed: false })).toBe(
    "{ userId: 1, id: 1, title: 'delectus aut autem', completed: false }",
  );
  expect(inspect(['slideshow'])).toBe("[ 'slideshow' ]");
  expect(inspect([])).toBe('[]');
  expect(inspect({})).toBe('{}');
  expect(inspect(null)).toBe('null');
  expect(inspect({ 'User-Agent': "it's", n: [1, { a: true }] })).toBe(
    "{ 'User-Agent': 'it\\'s', n: [ 1, { a: true } ] }",
  );
});
