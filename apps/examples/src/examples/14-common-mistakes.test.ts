import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { expect, test } from 'vitest';
import { runClean } from './run-clean.ts';
import { commonMistakes } from './14-common-mistakes.ts';

test('shows the three mistakes: a Promise instead of the value, a reported block, run() refused', async () => {
  const result = await runClean(commonMistakes);
  expect(result.lines).toEqual([
    '1. Calling an async function without await',
    "  WRONG: result = greet('Alex') → [object Promise]",
    "  RIGHT: result = await greet('Alex') → Hello, Alex!",
    "  WRONG: sendGreeting('Alex'); as a statement: main does not wait for it",
    '  main: done',
    '  main returned',
    '  sent: Hello, Alex! (after main had returned)',
    '  ESLint reports that call: @typescript-eslint/no-floating-promises',
    '2. Blocking the event loop',
    '  WRONG: a 500 ms busy-wait; monitorEventLoop: blocked for 400 ms or more',
    '  RIGHT: await sleep(500); another task ticked 3 times meanwhile',
    '3. Using run() inside async code',
    "  WRONG: run(() => greet('Alex')) → Error: run() cannot be called inside a running run(): await the async function directly, or use scope() for a nested group of tasks",
    "  RIGHT: result = await greet('Alex') → Hello, Alex!",
  ]);
});

const file = fileURLToPath(new URL('./14-common-mistakes.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const mistakeLine =
  readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((line) => line.includes("sendGreeting('Alex', log); // Missing await!")) + 1;

test("the repository's ESLint config reports the example's forgotten await (no-floating-promises)", async () => {
  expect(mistakeLine).toBeGreaterThan(0);
  // With its eslint-disable comment ignored, the example's own source fails the rule on
  // exactly the line of the mistake, and nowhere else. (As committed, the directive keeps
  // `pnpm run lint` green.)
  const strict = new ESLint({ cwd: root, allowInlineConfig: false });
  const [report] = await strict.lintFiles([file]);
  expect(report?.messages.map((m) => [m.ruleId, m.line])).toEqual([
    ['@typescript-eslint/no-floating-promises', mistakeLine],
  ]);
}, 120_000);
