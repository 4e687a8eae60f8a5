// pnpm soak: the structured-concurrency property over many random trees, against the
// built package. Usage: node test/soak.mjs [runs] [seed] [path]. Prints the seed and path
// of a failure so that `node packages/core/test/soak.mjs 1 <seed> <path>` replays it.
import fc from 'fast-check';
import * as weft from '../dist/index.js';
import { checkTree, treeArb } from './scope-tree.ts';

const runs = Number(process.argv[2] ?? 100_000);
const seed =
  process.argv[3] === undefined
    ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0
    : Number(process.argv[3]);
const path = process.argv[4];
const started = performance.now();
let done = 0;
const property = fc.asyncProperty(treeArb, async (tree) => {
  if (++done % 10_000 === 0) {
    console.log(`${done} runs, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const problems = await checkTree(weft, tree);
  if (problems.length > 0) throw new Error(problems.join('\n'));
});
const result = await fc.check(property, { numRuns: runs, seed, path, endOnFailure: true });
const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (result.failed) {
  console.log(`FAILED after ${result.numRuns} runs in ${seconds} s`);
  console.log(
    `replay: node packages/core/test/soak.mjs 1 ${result.seed} ${result.counterexamplePath}`,
  );
  console.log(String(result.errorInstance ?? result.error));
  process.exitCode = 1;
} else {
  console.log(`soak ok: ${result.numRuns} random trees in ${seconds} s (seed ${seed})`);
}

// Issue 7: the async-iterable helpers inside scopes, with explicit signals and
// cancellation (test/helpers-in-scopes.ts), a twentieth as many runs (each one waits a
// few macrotasks). Replay: WEFT_SOAK_HELPERS_PATH=<path> node packages/core/test/soak.mjs 1 <seed>.
{
  const { helpersInScopesProperty } = await import('./helpers-in-scopes.ts');
  const helperPath = process.env.WEFT_SOAK_HELPERS_PATH;
  const helperRuns = helperPath ? runs : Math.max(1, Math.floor(runs / 20));
  const startedHelpers = performance.now();
  const helpers = await fc.check(helpersInScopesProperty(weft), {
    numRuns: helperRuns,
    seed,
    path: helperPath,
    endOnFailure: true,
  });
  const secs = ((performance.now() - startedHelpers) / 1000).toFixed(1);
  if (helpers.failed) {
    console.log(`helpers: FAILED after ${helpers.numRuns} runs in ${secs} s`);
    console.log(
      `replay: WEFT_SOAK_HELPERS_PATH=${helpers.counterexamplePath} node packages/core/test/soak.mjs 1 ${helpers.seed}`,
    );
    console.log(String(helpers.errorInstance ?? helpers.error));
    process.exitCode = 1;
  } else {
    console.log(
      `soak ok: ${helpers.numRuns} helper scenarios in scopes in ${secs} s (seed ${seed})`,
    );
  }
}
