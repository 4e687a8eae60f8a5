import { describe, expect, test } from 'vitest';
import { readExcerpt, readLines } from './body.ts';

function streamOf(chunks: string[]): {
  stream: ReadableStream<Uint8Array>;
  cancelled: () => boolean;
} {
  const enc = new TextEncoder();
  let i = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(enc.encode(chunks[i++]));
      else controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
}

async function collect(chunks: string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const line of readLines(streamOf(chunks).stream.getReader(), 1000, undefined))
    out.push(line);
  return out;
}

describe('readLines', () => {
  test('splits on \\n, \\r\\n and \\r, also across chunk boundaries', async () => {
    expect(await collect(['a\nb\r\nc\rd'])).toEqual(['a', 'b', 'c', 'd']);
    expect(await collect(['a\r', '\nb\r', 'c\n', '\n'])).toEqual(['a', 'b', 'c', '']);
    expect(await collect(['ab', 'c\nde', 'f'])).toEqual(['abc', 'def']);
  });

  test('multi-byte characters split across chunks survive', async () => {
    const bytes = new TextEncoder().encode('é\n');
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.subarray(0, 1));
        c.enqueue(bytes.subarray(1));
        c.close();
      },
    });
    const out: string[] = [];
    for await (const line of readLines(stream.getReader(), 100, undefined)) out.push(line);
    expect(out).toEqual(['é']);
  });

  test('leaving early cancels the stream', async () => {
    const { stream, cancelled } = streamOf(['a\n', 'b\n', 'c\n']);
    for await (const line of readLines(stream.getReader(), 100, undefined)) if (line === 'a') break;
    expect(cancelled()).toBe(true);
  });
});

describe('readExcerpt', () => {
  test('reads at most max bytes and cancels the rest', async () => {
    const { stream, cancelled } = streamOf(['x'.repeat(100), 'y'.repeat(100), 'z']);
    expect(await readExcerpt(new Response(stream), 150)).toBe(
      `${'x'.repeat(100)}${'y'.repeat(50)}`,
    );
    expect(cancelled()).toBe(true);
  });
});
