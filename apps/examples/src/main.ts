// pnpm examples                  every example, in tutorial order, on virtual time
// pnpm examples <name|number>…   some of them (`pnpm examples gather`, `pnpm examples 4`)
// pnpm examples --list           what there is
// pnpm examples --timeline       also draw each example's task timeline
// pnpm examples --real           on the real clock (as slow as the tutorials say)
// pnpm examples serve            the dashboard service (PORT, default 3000)
// pnpm examples load             drive the service with 10,000 requests
import type { Example } from './example.ts';
import { examples, findExample } from './registry.ts';
import { type RunResult, runExample, startUpstreamFor } from './runner/run-examples.ts';
import { interruptExitCode, watchTerminationSignals } from './runner/interrupt.ts';
import { createTerminal, formatTable, Progress } from './runner/terminal.ts';

const USAGE = `usage: pnpm examples [<name|number>...] [--list] [--timeline] [--real]
       pnpm examples serve      the dashboard service on 127.0.0.1 (PORT, default 3000)
       pnpm examples load       10,000 requests against the service, then leak checks`;

const term = createTerminal();
const argv = process.argv.slice(2);
const flags = new Set(argv.filter((a) => a.startsWith('-')));
const words = argv.filter((a) => !a.startsWith('-'));
const KNOWN_FLAGS = new Set(['--list', '--timeline', '--real', '--help', '-h']);

async function main(): Promise<number> {
  if (words[0] === 'serve' || words[0] === 'load') {
    const { serveCommand, loadCommand } = await import('./service/cli.ts');
    return words[0] === 'serve' ? serveCommand(argv.slice(1)) : loadCommand(argv.slice(1));
  }
  const badFlags = [...flags].filter((f) => !KNOWN_FLAGS.has(f));
  if (flags.has('--help') || flags.has('-h') || badFlags.length > 0) {
    if (badFlags.length > 0) console.error(`Unknown option: ${badFlags.join(', ')}`);
    console.error(USAGE);
    return badFlags.length > 0 ? 2 : 0;
  }
  if (flags.has('--list')) {
    const rows = examples.map((e) => [String(e.number), e.name, e.title]);
    for (const line of formatTable(['#', 'example', 'what it shows'], rows)) console.log(line);
    return 0;
  }
  const chosen: Example[] = [];
  for (const word of words) {
    const found = findExample(word);
    if (found === undefined) {
      console.error(`Unknown example: ${word}. Try --list.`);
      return 2;
    }
    chosen.push(found);
  }
  return runMany(chosen.length === 0 ? examples : chosen);
}

async function runMany(list: readonly Example[]): Promise<number> {
  const real = flags.has('--real');
  const timeline = flags.has('--timeline');
  const upstream = await startUpstreamFor(list);
  if (upstream !== undefined) term.write(term.dim(`mock upstream API on ${upstream.url}\n`));
  const results: RunResult[] = [];
  let interrupted: number | undefined;
  // Ctrl-C / SIGTERM is known from the signal (each example's run() turns it into
  // cancellation), never from what an example's error says.
  using signals = watchTerminationSignals();
  try {
    for (const example of list) {
      const onVirtual = !real && example.realTime !== true;
      term.write(
        `\n${term.bold(`${example.number}. ${example.name}`)}: ${example.title}\n${term.dim(`   ${example.section}${onVirtual ? ' · virtual time' : ' · real time'}`)}\n`,
      );
      using progress = new Progress(term, example.name);
      const result = await runExample(example, {
        real,
        timeline,
        handleSignals: true,
        ...(upstream ? { upstream: upstream.url } : {}),
        onLine(line) {
          progress.clear();
          term.write(`   ${line}\n`);
        },
      });
      progress.clear();
      results.push(result);
      if (result.timeline !== undefined) {
        term.write(`${term.dim('   task timeline:')}\n${indent(result.timeline)}\n`);
      }
      const times = `${result.virtualMs === undefined ? '' : `${formatMs(result.virtualMs)} virtual, `}${formatMs(result.realMs)} real`;
      if (result.ok) term.write(term.dim(`   ${term.green('ok')} (${times})\n`));
      else term.write(`   ${term.red('FAILED')} (${times}): ${describeError(result.error)}\n`);
      interrupted = interruptExitCode(signals.received);
      if (interrupted !== undefined) {
        break;
      }
    }
  } finally {
    await upstream?.close();
  }
  if (results.length > 1) {
    term.write('\n');
    const rows = results.map((r) => [
      String(r.example.number),
      r.example.name,
      r.virtualMs === undefined ? '—' : formatMs(r.virtualMs),
      formatMs(r.realMs),
      r.ok ? 'ok' : 'FAILED',
    ]);
    for (const line of formatTable(['#', 'example', 'virtual time', 'real time', 'ok'], rows)) {
      term.write(`${line}\n`);
    }
    const failed = results.filter((r) => !r.ok).length;
    term.write(`\n${results.length - failed} ok, ${failed} failed\n`);
  }
  if (interrupted !== undefined) return interrupted; // 130 for SIGINT, 143 for SIGTERM
  return results.every((r) => r.ok) ? 0 : 1;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `   ${l}`)
    .join('\n');
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

process.exitCode = await main();
