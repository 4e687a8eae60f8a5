// The vitest test files, run by Bun's own runner (`bun test` maps `vitest` imports).
import { bin, exec } from './lib.mjs';

const { code } = await exec(bin('bun'), [
  'test',
  '--timeout',
  '120000',
  './packages',
  './apps',
  ...process.argv.slice(2),
]);
process.exitCode = code;
