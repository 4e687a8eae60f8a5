// The two commands as the CLI runs them, in process: exit codes and what they check.
import { TestClock } from '@weft/core';
import { expect, test } from 'vitest';
import { loadCommand, logValue, requestLogLine, serveCommand } from './cli.ts';
import type { RequestSettledEvent } from './dashboard.ts';
import { startService } from './service.ts';

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

/** What must never reach the log raw: C0 and C1 controls, DEL, line separators, bidi controls. */
const UNSAFE =
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function settled(userId: string): RequestSettledEvent {
  return {
    userId,
    status: 400,
    outcome: 'bad-request',
    missing: [],
    scopeAborted: false,
    ms: 0.4,
  };
}

test('the request log escapes the userId: no forged line, no terminal escape (review dbx10 X3)', () => {
  expect(requestLogLine({ ...settled('7'), status: 200, outcome: 'full', ms: 1 })).toBe(
    'GET /dashboard/7 200 full 1.0 ms',
  );
  const forged = requestLogLine(settled('1\nGET /dashboard/9 200 full 1.0 ms'));
  expect(forged).toBe(
    'GET /dashboard/"1\\nGET /dashboard/9 200 full 1.0 ms" 400 bad-request 0.4 ms',
  );
  for (const raw of [
    '\u001b[2J\u001b[31mX',
    '7\u0000',
    '1\r\nx',
    '\u009b31m',
    '\u007f',
    'a\u2028b',
    '\u202eevil',
    'a b',
    'a"b',
    'a\\b',
  ]) {
    const line = requestLogLine(settled(raw));
    expect(line).not.toMatch(UNSAFE);
    expect(line.startsWith(`GET /dashboard/${logValue(raw)} 400 `)).toBe(true);
    // What the log shows reads back as the value.
    expect(JSON.parse(logValue(raw))).toBe(raw);
  }
});

test('a forged userId sent to the service is logged on one escaped line (review dbx10 X3)', async () => {
  const lines: string[] = [];
  await using service = await startService({
    dbClock: new TestClock({ autoAdvance: true }),
    deadline: 5000,
    onRequestSettled: (e) => lines.push(requestLogLine(e)),
  });
  for (const path of ['1%0AGET%20%2Fdashboard%2F9%20200%20full%201.0%20ms', '%1B%5B2J%1B%5B31mX']) {
    const res = await fetch(`${service.url}/dashboard/${path}`);
    expect(res.status).toBe(400);
    await res.body?.cancel();
  }
  expect(lines).toHaveLength(2);
  for (const line of lines) expect(line).not.toMatch(UNSAFE);
  expect(lines[0]).toMatch(
    /^GET \/dashboard\/"1\\nGET \/dashboard\/9 200 full 1\.0 ms" 400 bad-request /,
  );
  expect(lines[1]).toMatch(/^GET \/dashboard\/"\\u001b\[2J\\u001b\[31mX" 400 bad-request /);
});
