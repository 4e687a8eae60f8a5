import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { runChild } from '../../test/child.ts';
import { run } from '../run.ts';

const fixture = fileURLToPath(new URL('../../test/fixtures/run-dump.mjs', import.meta.url));
const isDeno = typeof (globalThis as { Deno?: unknown }).Deno === 'object';
const isBun = typeof (globalThis as { Bun?: unknown }).Bun === 'object';
const isNode = !isDeno && !isBun;
const isWindows = (globalThis as { process?: { platform?: string } }).process?.platform === 'win32';

interface DenoChild {
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
  kill(signal: string): void;
  status: Promise<{ code: number }>;
}

/** Runs the fixture on this test's runtime, collecting stdout and stderr apart. */
function startChild(): {
  out: string[];
  err: () => string;
  until: (test: () => boolean) => Promise<void>;
  kill: (signal: 'SIGUSR2' | 'SIGINT') => void;
  exit: Promise<number | null>;
} {
  const out: string[] = [];
  let errText = '';
  let outBuffer = '';
  const changed = new Set<() => void>();
  const onOut = (chunk: string): void => {
    outBuffer += chunk;
    const parts = outBuffer.split('\n');
    outBuffer = parts.pop()!;
    out.push(...parts);
    for (const f of changed) f();
  };
  const onErr = (chunk: string): void => {
    errText += chunk;
    for (const f of changed) f();
  };
  let exit: Promise<number | null>;
  let kill: (signal: 'SIGUSR2' | 'SIGINT') => void;
  if (isDeno) {
    const Deno = (
      globalThis as unknown as {
        Deno: { Command: new (cmd: string, o: object) => { spawn(): DenoChild } };
      }
    ).Deno;
    const child = new Deno.Command(process.execPath, {
      args: ['run', '-A', fixture],
      stdout: 'piped',
      stderr: 'piped',
      stdin: 'null',
    }).spawn();
    const read = async (stream: ReadableStream<Uint8Array>, on: (s: string) => void) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) on(decoder.decode(chunk, { stream: true }));
    };
    exit = Promise.all([child.status, read(child.stdout, onOut), read(child.stderr, onErr)]).then(
      ([status]) => status.code,
    );
    kill = (signal) => child.kill(signal);
  } else {
    const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', onOut);
    child.stderr!.on('data', onErr);
    exit = new Promise((resolve) => child.on('close', (code) => resolve(code)));
    kill = (signal) => child.kill(signal);
  }
  const until = (check: () => boolean): Promise<void> =>
    check()
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const f = (): void => {
            if (!check()) return;
            changed.delete(f);
            resolve();
          };
          changed.add(f);
          void exit.then(() =>
            reject(new Error(`child exited early: ${out.join(' | ')} ${errText}`)),
          );
        });
  return { out, err: () => errText, until, kill, exit };
}

describe.skipIf(isWindows)('run({ dumpTasksOn })', () => {
  test('prints the live task tree to stderr on the signal and keeps running', async () => {
    const child = startChild();
    await child.until(() => child.out.includes('ready'));
    child.kill('SIGUSR2');
    await child.until(() => child.err().includes('download (task'));
    const dump = child.err();
    expect(dump).toMatch(/weft: task tree on SIGUSR2/);
    expect(dump).toMatch(/^run \(scope #\d+\) · open · age /m);
    expect(dump).toMatch(/^├── poller \(task #\d+\) · running · age /m);
    expect(dump).toMatch(/^└── downloads \(scope #\d+\) · open · age .* · deadline in /m);
    expect(dump).toMatch(/^ {4}└── download \(task #\d+\) · running · age /m);
    // Still running: a second dump works, then SIGINT ends it the usual way.
    child.kill('SIGUSR2');
    await child.until(() => child.err().split('weft: task tree').length === 3);
    child.kill('SIGINT');
    expect(await child.exit).toBe(130);
    expect(child.out).toEqual(['ready', 'ended AbortError', 'exited normally']);
  });

  test.skipIf(!isNode || isWindows)(
    'leaves SIGUSR1 to Node (its inspector) and says to use SIGUSR2',
    async () => {
      await expect(run(() => 1, { dumpTasksOn: 'SIGUSR1' })).rejects.toThrow(
        "Expected `options.dumpTasksOn` to be a signal this runtime does not reserve, got `SIGUSR1` (string): Node starts its inspector on SIGUSR1 and cannot get that back once a listener is removed: use 'SIGUSR2'",
      );
      // After it, SIGUSR1 still starts the inspector instead of killing the process.
      const child = await runChild(
        fileURLToPath(new URL('../../test/fixtures/run-usr1.mjs', import.meta.url)),
        {
          runtimeArgs: ['--inspect-port=0'],
          onStdout: (text, kill) => {
            if (text === 'TypeError\nready\n') kill('SIGUSR1');
          },
        },
      );
      expect(child.stderr).toMatch(/Debugger listening on ws:\/\/127\.0\.0\.1:\d+\//);
      expect(child.stdout).toBe('TypeError\nready\nalive\n');
      expect(child.code).toBe(0);
    },
  );

  test.skipIf(isNode || isWindows)('takes SIGUSR1 where the runtime gives it back', async () => {
    expect(await run(() => 1, { dumpTasksOn: 'SIGUSR1' })).toBe(1);
  });

  test('rejects a signal it does not support', async () => {
    await expect(run(() => 1, { dumpTasksOn: 'SIGKILL' as never })).rejects.toThrow(
      "Expected `options.dumpTasksOn` to be one of 'SIGUSR1', 'SIGUSR2', 'SIGHUP', 'SIGQUIT', 'SIGWINCH', got `SIGKILL` (string)",
    );
  });
});
