// Fails unless ESLint reports the forgotten `await` in scripts/lint-fixtures/.
import { ESLint } from 'eslint';

const eslint = new ESLint({ ignore: false });
const [result] = await eslint.lintFiles(['scripts/lint-fixtures/forgotten-await.ts']);
const caught = result.messages.some((m) => m.ruleId === '@typescript-eslint/no-floating-promises');
if (!caught) {
  console.error('lint check: no-floating-promises did not report the forgotten await');
  console.error(result.messages);
  process.exit(1);
}
console.log('lint check: a forgotten await is reported (no-floating-promises)');
