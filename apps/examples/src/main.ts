// pnpm examples            runs every example in order (virtual time: fast, exact)
// pnpm examples <name>     runs one
// pnpm examples --real     runs on the real clock (takes as long as the tutorial says)
// pnpm examples --list     lists the examples
import { type Clock, run, systemClock, TestClock } from '@weft/core';
import type { ExampleIO } from './example.ts';
import { examples } from './registry.ts';

const args = process.argv.slice(2);
const real = args.includes('--real');
const names = args.filter((a) => !a.startsWith('--'));

if (args.includes('--list')) {
  for (const e of examples) console.log(`${e.name.padEnd(28)} ${e.title}`);
} else {
  const unknown = names.filter((n) => !examples.some((e) => e.name === n));
  if (unknown.length > 0) {
    console.error(`Unknown example: ${unknown.join(', ')}. Try --list.`);
    process.exitCode = 2;
  } else {
    const chosen = names.length === 0 ? examples : examples.filter((e) => names.includes(e.name));
    for (const example of chosen) {
      const clock: Clock = real ? systemClock : new TestClock({ autoAdvance: true });
      const io: ExampleIO = { log: (line) => console.log(`  ${line}`), clock, virtual: !real };
      console.log(`\n# ${example.name}: ${example.title}${real ? '' : ' [virtual time]'}`);
      const started = performance.now();
      await run(() => example.run(io), { clock, name: example.name });
      console.log(`  (${(performance.now() - started).toFixed(0)} ms real)`);
    }
  }
}
