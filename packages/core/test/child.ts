import { spawn } from 'node:child_process';

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno === 'object';

/** What a child program did: its exit code (`null` if killed), stdout and stderr. */
export interface ChildResult {
  code: number | null;
  /** Whether the guard had to kill it (it did not exit on its own in time). */
  killed: boolean;
  stdout: string;
  stderr: string;
}

/**
 * Runs a fixture script on this test's runtime (Node, Bun, or Deno with `-A`) to its
 * end, killing it after `guardMs` if it does not exit on its own. `onStdout` sees the
 * output as it comes, and may signal the child (`kill`).
 */
export function runChild(
  file: string,
  options: {
    guardMs?: number;
    args?: string[];
    /** The child's working directory (default: this process's). */
    cwd?: string;
    /** Flags for the runtime itself, before the file (Node only). */
    runtimeArgs?: string[];
    onStdout?: (text: string, kill: (signal: NodeJS.Signals) => void) => void;
  } = {},
): Promise<ChildResult> {
  const args = isDeno
    ? ['run', '-A', file, ...(options.args ?? [])]
    : [file, ...(options.args ?? [])];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
  });
  let stdout = '';
  let stderr = '';
  let killed = false;
  const kill = (signal: NodeJS.Signals): void => void child.kill(signal);
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
    options.onStdout?.(stdout, kill);
  });
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const guard = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, options.guardMs ?? 15_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, killed, stdout, stderr });
    });
  });
}
