// pnpm soak:db-sim: the chaos soak against the built packages. Usage:
//   node packages/db-sim/test/soak.mjs [operations = 100000] [seed = random]
// Runs the money-transfer chaos (faults at 5%), checks it, then replays it from the seed
// and compares the trace hashes. Prints the seed, so a failure replays with the same args.
import * as core from '@weft/core';
import * as dbSim from '../dist/index.js';
import { runChaos } from './chaos.ts';

const operations = Number(process.argv[2] ?? 100_000);
const seed =
  process.argv[3] === undefined
    ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0
    : Number(process.argv[3]);
const started = performance.now();
const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
console.log(`db-sim soak: ${operations} transfers, seed ${seed}`);
const progress = (done) => console.log(`  ${done} transfers, ${seconds()} s`);
const first = await runChaos(core, dbSim, { operations, seed, progress });
const summary = `${first.acknowledged} acknowledged, ${first.failed} failed for good, ${first.reconciled} commits reconciled by reading back; faults ${JSON.stringify(first.faults)}; ${first.events} events, hash ${first.hash}, ${(first.virtualMs / 1000).toFixed(0)} s virtual`;
console.log(`  run: ${summary} (${seconds()} s real)`);
const replay = await runChaos(core, dbSim, { operations, seed });
const problems = [...first.problems];
if (replay.hash !== first.hash || replay.events !== first.events) {
  problems.push(
    `the replay diverged: hash ${replay.hash} (${replay.events} events) vs ${first.hash} (${first.events} events)`,
  );
}
if (problems.length > 0) {
  console.log(`FAILED in ${seconds()} s\n${problems.slice(0, 20).join('\n')}`);
  console.log(`replay: node packages/db-sim/test/soak.mjs ${operations} ${seed}`);
  process.exitCode = 1;
} else {
  console.log(
    `db-sim soak ok: ${operations} transfers, replayed to the same trace hash, in ${seconds()} s (seed ${seed})`,
  );
}
