import { expect, test } from 'vitest';
import { collectUnhandled } from '../../../../packages/core/test/helpers.ts';
import { runForTest } from '../testing.ts';
import { createTask } from './05-create-task.ts';

test('starts three downloads, does other work while they run, then collects them in 0.5 s', async () => {
  const unhandled = await collectUnhandled(async () => {
    const { lines, virtualMs, timeline } = await runForTest(createTask, { timeline: true });
    expect(lines.slice(0, 6)).toEqual([
      'Downloads started, doing other work...',
      // The downloads ran during the other work: the 0.02 s one is done, the others not yet.
      'After 0.03s of other work: report.pdf running, photo.jpg fulfilled, video.mp4 running',
      'report.pdf: done',
      'photo.jpg: done',
      'video.mp4: done',
      'All collected at 0.50s (the longest download), not 0.57s',
    ]);
    // The second part: 0.03 s of work, then the failure; the 0.5 s download is cancelled,
    // not waited out.
    expect(lines.slice(6)).toEqual([
      'Download started, doing other work...',
      'Other work failed at 0.03s (disk full): video.mp4 cancelled',
    ]);
    expect(virtualMs).toBe(530);
    expect(timeline).toMatch(/video\.mp4 +░+ 30 ms cancelled/);
  });
  expect(unhandled).toEqual([]);
});
