// Instruction counts behind @weft/http's CPU cost (issue 8), with valgrind (callgrind):
// unlike CPU time, they do not move with the machine's load. Run from the repository
// root: `pnpm exec node bench/http-instructions.mjs [subject,...]` (Node 24; needs
// valgrind; about an hour and a half for everything, ~12 minutes per subject).
//
// Each count is the difference between two runs of different lengths (so start up,
// compilation and warm-up cancel out), divided by the extra calls:
// - `new Request(url, init)` with what a client may pass Node's fetch (a method, a
//   signal, `redirect: 'manual'`, an `accept` header): what fetch itself does more per
//   request for each of them (skipped when subjects are named);
// - a whole GET of 1 KiB of JSON through Node's own fetch over an in-memory transport,
//   for raw fetch, fetch with a fresh signal, fetch as weft calls it, weft, ofetch (with
//   and without a timeout) and ky: everything but the socket, deterministic, so the
//   differences between clients (and what a signal costs inside fetch: its WeakRef,
//   FinalizationRegistry entry and listener, collected later) are exact.
import { setImmediate } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { countNode, hasValgrind } from './callgrind.mjs';

const self = fileURLToPath(import.meta.url);
const mode = process.env.WEFT_INSTR_MODE;
const { AbortController, Headers, Request, fetch } = globalThis;

if (mode === 'request') {
  const u = 'http://127.0.0.1:1234/json';
  const headers = new Headers({ accept: 'application/json' });
  const record = { accept: 'application/json' };
  const signal = () => new AbortController().signal;
  const variants = {
    'new Request(url)': () => new Request(u),
    "+ method: 'GET'": () => new Request(u, { method: 'GET' }),
    "+ redirect: 'manual'": () => new Request(u, { redirect: 'manual' }),
    '+ a fresh signal': () => new Request(u, { signal: signal() }),
    '+ accept as a plain object': () => new Request(u, { headers: record }),
    '+ accept as a Headers': () => new Request(u, { headers }),
    'as weft called it before': () =>
      new Request(u, { method: 'GET', headers: record, signal: signal(), redirect: 'manual' }),
    'as weft calls it now': () =>
      new Request(u, {
        headers: { accept: 'application/json' },
        signal: signal(),
        redirect: 'manual',
      }),
  };
  const f = variants[process.env.WEFT_INSTR_VARIANT];
  const keep = [];
  for (let i = Number(process.env.WEFT_INSTR_N); i > 0; i--) {
    keep.push(f());
    if (keep.length > 1000) keep.length = 0;
  }
} else if (mode === 'transport') {
  // Node's own fetch over an in-memory transport: a global dispatcher (the hook Node's
  // fetch shares with undici) that answers every request with the benchmark's 1 KiB JSON
  // body on the next macrotask, as a socket would. Everything each client and fetch do
  // runs; only the socket and the HTTP parser do not.
  const { Buffer } = await import('node:buffer');
  const { json1k: body } = await import('./http-body.mjs');
  const headers = () => [
    Buffer.from('content-type'),
    Buffer.from('application/json'),
    Buffer.from('content-length'),
    Buffer.from(String(body.length)),
    Buffer.from('connection'),
    Buffer.from('keep-alive'),
  ];
  globalThis[Symbol.for('undici.globalDispatcher.1')] = {
    dispatch(_options, handler) {
      setImmediate(() => {
        handler.onConnect?.(() => {});
        handler.onHeaders(200, headers(), () => {}, 'OK');
        handler.onData(Buffer.from(body));
        handler.onComplete([]);
      });
      return true;
    },
    close() {},
    destroy() {},
    on() {
      return this;
    },
    once() {
      return this;
    },
    off() {
      return this;
    },
  };
  const { createClient } = await import('@weft/http');
  const { ofetch } = await import('ofetch');
  const { default: ky } = await import('ky');
  const http = createClient();
  const ofetchTimeout = ofetch.create({ timeout: 10_000 });
  const u = 'http://127.0.0.1:8089/json';
  const one = {
    fetch: () => fetch(u).then((r) => r.json()),
    'fetch + AbortSignal': () =>
      fetch(u, { signal: new AbortController().signal }).then((r) => r.json()),
    'fetch as weft calls it': () =>
      fetch(u, {
        signal: new AbortController().signal,
        redirect: 'manual',
        headers: { accept: 'application/json' },
      })
        .then((r) => r.text())
        .then(JSON.parse),
    weft: () => http.get(u).json(),
    ofetch: () => ofetch(u),
    'ofetch (timeout 10 s)': () => ofetchTimeout(u),
    ky: () => ky.get(u).json(),
  }[process.env.WEFT_INSTR_VARIANT];
  const run = async (n) => {
    let left = n;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (left-- > 0) await one();
      }),
    );
  };
  await run(2000);
  await run(Number(process.env.WEFT_INSTR_N));
} else {
  if (!hasValgrind()) {
    console.log('valgrind is not installed: no instruction counts');
    process.exit(0);
  }
  const count = (m, variant, n) =>
    countNode(['--single-threaded', self], {
      env: {
        ...process.env,
        WEFT_INSTR_MODE: m,
        WEFT_INSTR_VARIANT: variant,
        WEFT_INSTR_N: String(n),
      },
    });
  // Whole requests: runs of 10,000 and 50,000 after 2,000 unmeasured. Shorter windows
  // (4,000 and 12,000 before 2026-11-23) were not steady: V8 was still compiling, and one
  // full collection more or less in either run moved a count by 20,000 or more per
  // request (weft counted 700k at 4,000/12,000, 617k at 6,000/18,000, 432k here).
  const [SHORT, LONG] = (process.env.WEFT_INSTR_RUNS ?? '10000,50000').split(',').map(Number);
  const per = (m, variant, short, long) =>
    (count(m, variant, long) - count(m, variant, short)) / (long - short);
  console.log(
    `Node ${process.version}: instructions per call (valgrind, difference of two run lengths)`,
  );
  for (const variant of process.argv[2] !== undefined
    ? []
    : [
        'new Request(url)',
        "+ method: 'GET'",
        "+ redirect: 'manual'",
        '+ a fresh signal',
        '+ accept as a plain object',
        '+ accept as a Headers',
        'as weft called it before',
        'as weft calls it now',
      ]) {
    console.log(
      `  ${variant.padEnd(28)} ${Math.round(per('request', variant, 5000, 25000))
        .toLocaleString('en')
        .padStart(8)}`,
    );
  }
  const only = process.argv[2]?.split(',');
  const subjects = [
    'fetch',
    'fetch + AbortSignal',
    'fetch as weft calls it',
    'weft',
    'ofetch',
    'ofetch (timeout 10 s)',
    'ky',
  ].filter((s) => only === undefined || s === 'fetch' || only.includes(s));
  console.log(
    "\nGET 1 KiB JSON through Node's fetch over an in-memory transport (no socket), 50 in flight:\ninstructions per request, and fetch's count over the subject's (> 1 is cheaper than fetch)",
  );
  let floor;
  for (const subject of subjects) {
    const n = per('transport', subject, SHORT, LONG);
    floor ??= n;
    console.log(
      `  ${subject.padEnd(28)} ${Math.round(n).toLocaleString('en').padStart(8)}  ${(floor / n).toFixed(3)}`,
    );
  }
}
