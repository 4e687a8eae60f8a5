// The one place that knows how each runtime's fetch words a network failure.
//
// Node (undici): TypeError('fetch failed' | 'terminated') whose `cause` is a Node system
//   error with `code` ECONNREFUSED / ECONNRESET / ENOTFOUND…, or an undici SocketError
//   (`UND_ERR_SOCKET`, "other side closed") when the peer closed mid-body.
// Bun: TypeError with `code` ECONNREFUSED / ECONNRESET set on the error itself.
// Deno: TypeError('fetch failed') whose cause's message says "Connection refused (os
//   error 111)" / "Connection reset by peer", or TypeError('error reading a body from
//   connection') with no cause when the body broke off.

/**
 * The normalised kinds of network failure (`NetworkError.code`), the same on Node, Bun and
 * Deno.
 *
 * @example
 * ```ts
 * try {
 *   await http.get('/').text();
 * } catch (err) {
 *   if (err instanceof NetworkError && err.code === 'ECONNREFUSED') console.error('is the server up?');
 * }
 * ```
 */
export type NetworkErrorCode =
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ENOTFOUND'
  | 'ETIMEDOUT'
  | 'EPIPE'
  | 'ECONNABORTED'
  | 'EHOSTUNREACH'
  | 'ENETUNREACH';

const KNOWN: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

const ALIASES: Record<string, NetworkErrorCode> = {
  UND_ERR_SOCKET: 'ECONNRESET',
  UND_ERR_CLOSED: 'ECONNRESET',
  UND_ERR_CONNECT_TIMEOUT: 'ETIMEDOUT',
  EAI_AGAIN: 'ENOTFOUND',
  ConnectionRefused: 'ECONNREFUSED',
  ConnectionReset: 'ECONNRESET',
  ConnectionClosed: 'ECONNRESET',
  FailedToOpenSocket: 'ECONNREFUSED',
};

const MESSAGES: ReadonlyArray<[RegExp, NetworkErrorCode]> = [
  [/connection refused|ECONNREFUSED/i, 'ECONNREFUSED'],
  [
    /connection reset|ECONNRESET|error reading a body|other side closed|terminated|connection closed before message completed/i,
    'ECONNRESET',
  ],
  [/dns error|failed to lookup|ENOTFOUND|name or service not known/i, 'ENOTFOUND'],
  [/timed out|ETIMEDOUT/i, 'ETIMEDOUT'],
  [/broken pipe|EPIPE/i, 'EPIPE'],
  [/host is unreachable|EHOSTUNREACH/i, 'EHOSTUNREACH'],
  [/network is unreachable|ENETUNREACH/i, 'ENETUNREACH'],
];

/** Works out the normalised code of a runtime's network error, walking its `cause` chain. */
export function networkCode(error: unknown): NetworkErrorCode | undefined {
  const chain: unknown[] = [];
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    chain.push(e);
    if (e instanceof AggregateError) chain.push(...e.errors);
    e = (e as { cause?: unknown }).cause;
  }
  for (const e of chain) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (KNOWN.has(code)) return code as NetworkErrorCode;
      const alias = ALIASES[code];
      if (alias !== undefined) return alias;
    }
  }
  // No code: the innermost message is the most precise.
  for (const e of chain.reverse()) {
    const message = (e as { message?: unknown }).message;
    if (typeof message !== 'string') continue;
    for (const [pattern, code] of MESSAGES) if (pattern.test(message)) return code;
  }
  return undefined;
}
