// The two commands as the CLI runs them, in process: exit codes and what they check.
import { expect, test } from 'vitest';
import { loadCommand, serveCommand } from './cli.ts';

test('load with a small run starts the service, drives it and exits 0 when every check passes', async () => {
  const code = await loadCommand(['--requests', '120', '--concurrency', '12', '--seed', '5']);
  expect(code).toBe(0);
});

test('bad flags are exit code 2, before anything starts', async () => {
  expect(await loadCommand(['--requests', '0'])).toBe(2);
  expect(await loadCommand(['--concurency', '10'])).toBe(2);
  expect(await loadCommand(['--db-faults', '1.5'])).toBe(2);
  expect(await loadCommand(['--url', 'ftp://x'])).toBe(2);
  expect(await serveCommand(['--port', '70000'])).toBe(2);
  expect(await serveCommand(['--stall-rate', 'lots'])).toBe(2);
});
