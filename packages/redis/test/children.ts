// Child processes on Node, Bun and Deno running test/fixtures/worker.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type Runtime = 'node' | 'bun' | 'deno';

// The runtimes' own executables, not the node_modules/.bin shell shims: a signal sent to
// a shim would not reach the runtime behind it.
const EXECUTABLES: Record<Runtime, string> = {
  node: 'node/bin/node',
  bun: 'bun/bin/bun.exe',
  deno: 'deno/deno',
};
const bin = (runtime: Runtime): string =>
  fileURLToPath(new URL(`../../../node_modules/${EXECUTABLES[runtime]}`, import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));
const cwd = fileURLToPath(new URL('..', import.meta.url));

export interface Child {
  readonly runtime: Runtime;
  readonly process: ChildProcess;
  readonly events: Record<string, unknown>[];
  /**
   * Resolves with the next event named `name` not yet taken (rejects if the child exits
   * first, or reports an error).
   */
  next(name: string): Promise<Record<string, unknown>>;
  /** Sends a job (one line). */
  run(job: Record<string, unknown>): void;
  exited: Promise<number | null>;
  stderr(): string;
}

export function startChild(runtime: Runtime, job: Record<string, unknown>): Child {
  const args =
    runtime === 'deno' ? ['run', '-A', worker, JSON.stringify(job)] : [worker, JSON.stringify(job)];
  const proc = spawn(bin(runtime), args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  const waiting: {
    name: string;
    resolve: (e: Record<string, unknown>) => void;
    reject: (e: Error) => void;
  }[] = [];
  let out = '';
  let err = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  proc.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const event = JSON.parse(line) as Record<string, unknown>;
      if (event.event === 'error') {
        for (const w of waiting.splice(0))
          w.reject(new Error(`${runtime} child: ${String(event.message)}`));
        continue;
      }
      const w = waiting.find((x) => x.name === event.event);
      if (w === undefined) events.push(event);
      else {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => {
      for (const w of waiting.splice(0)) {
        w.reject(
          new Error(`${runtime} child exited (${code}) before '${w.name}': ${err.slice(-2000)}`),
        );
      }
      resolve(code);
    });
  });
  return {
    runtime,
    process: proc,
    events,
    exited,
    stderr: () => err,
    next(name) {
      const seen = events.findIndex((e) => e.event === name);
      if (seen >= 0) return Promise.resolve(events.splice(seen, 1)[0]!);
      if (proc.exitCode !== null || proc.signalCode !== null) {
        return Promise.reject(new Error(`${runtime} child already exited: ${err.slice(-2000)}`));
      }
      return new Promise((resolve, reject) => waiting.push({ name, resolve, reject }));
    },
    run(job) {
      proc.stdin?.write(`${JSON.stringify(job)}\n`);
    },
  };
}

/** Six children: each runtime with each client. */
export const MIX: readonly { runtime: Runtime; client: 'node-redis' | 'ioredis' }[] = [
  { runtime: 'node', client: 'node-redis' },
  { runtime: 'node', client: 'ioredis' },
  { runtime: 'bun', client: 'node-redis' },
  { runtime: 'bun', client: 'ioredis' },
  { runtime: 'deno', client: 'node-redis' },
  { runtime: 'deno', client: 'ioredis' },
];

/** Kills whatever is still running (test cleanup). */
export function killAll(children: readonly Child[]): void {
  for (const c of children) {
    if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
  }
}
