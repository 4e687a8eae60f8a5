// Instruction counts behind @weft/http's CPU cost (issue 8), with valgrind (callgrind):
// unlike CPU time, they do not move with the machine's load. Run from the repository
// root: `pnpm exec node bench/http-instructions.mjs` (Node 24; needs valgrind; a few minutes).
//
// Two measurements, each the difference between two runs of different lengths (so start
// up, compilation and warm-up cancel out), divided by the extra calls:
// - `new Request(url, init)` with what a client may pass Node's fetch (a method, a
//   signal, `redirect: 'manual'`, an `accept` header): what fetch itself does more per
//   request for each of them;
// - weft's own work per request, `http.get(url).json()` with a global fetch that costs
//   next to nothing, against the same fetch called directly.
import { fileURLToPath } from 'node:url';
import { countNode, hasValgrind } from './callgrind.mjs';

const self = fileURLToPath(import.meta.url);
const mode = process.env.WEFT_INSTR_MODE;
const { AbortController, Headers, Request } = globalThis;

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
} else if (mode === 'own') {
  const { createClient } = await import('@weft/http');
  const response = {
    ok: true,
    status: 200,
    statusText: 'OK',
    headers: new Headers(),
    body: null,
    url: '',
    text: () => Promise.resolve('{}'),
  };
  globalThis.fetch = () => Promise.resolve(response);
  const http = createClient();
  const u = 'http://127.0.0.1:1/json';
  const one =
    process.env.WEFT_INSTR_VARIANT === 'weft'
      ? () => http.get(u).json()
      : () =>
          globalThis
            .fetch(u)
            .then((r) => r.text())
            .then(JSON.parse);
  for (let n = Number(process.env.WEFT_INSTR_N); n > 0; n -= 2000) {
    let left = 2000;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (left-- > 0) await one();
      }),
    );
  }
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
  const per = (m, variant, short, long) =>
    (count(m, variant, long) - count(m, variant, short)) / (long - short);
  console.log(
    `Node ${process.version}: instructions per call (valgrind, difference of two run lengths)`,
  );
  for (const variant of [
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
  const fetchOnly = per('own', 'fetch', 4000, 12000);
  const weft = per('own', 'weft', 4000, 12000);
  console.log(
    `  a near-free fetch + .text() + JSON.parse: ${Math.round(fetchOnly).toLocaleString('en')}`,
  );
  console.log(
    `  the same through weft (get(url).json()):  ${Math.round(weft).toLocaleString('en')} (weft's own: ${Math.round(weft - fetchOnly).toLocaleString('en')})`,
  );
}
