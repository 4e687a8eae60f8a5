// The vitest test files, run by vitest on Deno (`deno run -A npm:vitest run`, with the
// vitest that the workspace installed).
import { join } from 'node:path';
import { bin, exec, root } from './lib.mjs';

const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const { code } = await exec(bin('deno'), ['run', '-A', vitest, 'run', ...process.argv.slice(2)]);
process.exitCode = code;
