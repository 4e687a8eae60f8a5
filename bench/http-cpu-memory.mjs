// CPU time per request without a network (issue 8): raw fetch, "fetch as weft calls it",
// that in weft's shape (two async frames, the first a microtask later, the URL parsed),
// and weft, over an in-memory Response delivered a macrotask later by a fetch that
// ignores its init (so this shows what weft adds itself, not what Node's fetch does with
// a signal). The variants take turns over 30 rounds of 2,000 requests (50 in flight,
// order rotating, a full GC before each turn); prints the median CPU µs per request and
// the median of the same-round ratios to raw fetch. Load-sensitive, but quick and paired:
//   pnpm exec node --expose-gc bench/http-cpu-memory.mjs
const { AbortController, Response, URL, setImmediate, gc } = globalThis;
const { createClient } = await import('@weft/http');
const body = '{"a":1}';
const mk = () =>
  new Promise((res) =>
    setImmediate(() =>
      res(new Response(body, { headers: { 'content-type': 'application/json' } })),
    ),
  );
globalThis.fetch = () => mk();
const http = createClient();
const u = 'http://127.0.0.1:1/json';
async function att(href) {
  const r = await globalThis.fetch(href, {
    signal: new AbortController().signal,
    redirect: 'manual',
    headers: { accept: 'application/json' },
  });
  const t = await r.text();
  return JSON.parse(t);
}
async function shape(u) {
  await undefined;
  const href = new URL(u).href;
  try {
    return await att(href);
  } catch (e) {
    return Promise.reject(e);
  }
}
const V = {
  raw: () =>
    globalThis
      .fetch(u)
      .then((r) => r.text())
      .then(JSON.parse),
  asweft: () =>
    globalThis
      .fetch(u, {
        signal: new AbortController().signal,
        redirect: 'manual',
        headers: { accept: 'application/json' },
      })
      .then((r) => r.text())
      .then(JSON.parse),
  shape: () => shape(u),
  weft: () => http.get(u).json(),
  weftInf: () => http.get(u, { timeout: Infinity }).json(),
};
const batch = async (one) => {
  let left = 2000;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (left-- > 0) await one();
    }),
  );
};
for (const k in V) await batch(V[k]);
const ks = Object.keys(V);
const s = Object.fromEntries(ks.map((k) => [k, []]));
const K = ks.length;
for (let r = 0; r < 30; r++)
  for (let i = 0; i < K; i++) {
    const k = ks[(i + r) % K];
    gc();
    const t = process.cpuUsage();
    await batch(V[k]);
    const d = process.cpuUsage(t);
    s[k].push((d.user + d.system) / 2000);
  }
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const k of ks)
  console.log(
    k,
    med(s[k]).toFixed(2),
    'µs/req; raw÷',
    med(s[k].map((v, i) => s.raw[i] / v)).toFixed(3),
  );
