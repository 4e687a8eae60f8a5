// Reading stream replies in either protocol: RESP2 gives
// [[stream, [[id, [field, value, …]], …]]], RESP3 (node-redis' default) gives
// { stream: [[id, [field, value, …]]] } or a Map (node-redis), or the map flattened into
// [stream, entries, …] (ioredis); fields may come as an object.

export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

function fieldsOf(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i])] = String(raw[i + 1]);
  } else if (raw instanceof Map) {
    for (const [k, v] of raw) out[String(k)] = String(v);
  } else if (typeof raw === 'object' && raw !== null) {
    for (const [k, v] of Object.entries(raw)) out[k] = String(v);
  }
  return out;
}

function entriesOf(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: StreamEntry[] = [];
  for (const item of raw) {
    if (Array.isArray(item)) out.push({ id: String(item[0]), fields: fieldsOf(item[1]) });
    else if (typeof item === 'object' && item !== null && 'id' in item) {
      const o = item as { id: unknown; message?: unknown; fields?: unknown };
      out.push({ id: String(o.id), fields: fieldsOf(o.message ?? o.fields) });
    }
  }
  return out;
}

/** The entries of an XREAD/XREADGROUP reply (empty for a nil reply). */
export function readReply(reply: unknown): StreamEntry[] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) {
    const out: StreamEntry[] = [];
    // A RESP3 map flattened into [name, entries, name, entries…] (ioredis).
    if (typeof reply[0] === 'string' || reply[0] instanceof Uint8Array) {
      for (let i = 1; i < reply.length; i += 2) out.push(...entriesOf(reply[i]));
      return out;
    }
    for (const stream of reply) {
      if (Array.isArray(stream)) out.push(...entriesOf(stream[1]));
      else if (typeof stream === 'object' && stream !== null && 'messages' in stream) {
        out.push(...entriesOf((stream as { messages: unknown }).messages));
      }
    }
    return out;
  }
  if (reply instanceof Map) return [...reply.values()].flatMap(entriesOf);
  if (typeof reply === 'object') return Object.values(reply).flatMap(entriesOf);
  return [];
}
