import t from 'tap';
import { ProgressBar } from '../../src/loadgen/progress-bar.js';

function sink(isTTY: boolean) {
  const out = { text: '', isTTY, write: (s: string) => (out.text += s) };
  return out;
}

t.test('on a terminal the bar names the point and is erased when the run ends', async (t) => {
  const stderr = sink(true);
  const bar = new ProgressBar(stderr, 3, 10, null);
  bar.startPoint(1, { mode: 'rate', value: 5 });
  bar.record(false);
  bar.finish();
  t.match(stderr.text, /^\r\x1b\[2K\[\.{24}\] 5\/s \(2\/3\) 0 done, 0 failed/);
  t.ok(stderr.text.endsWith('\r\x1b[2K'), 'the line is cleared for the table');
});

t.test('off a terminal the bar writes nothing, so piped output stays clean', async (t) => {
  const stderr = sink(false);
  const bar = new ProgressBar(stderr, 1, 10, null);
  bar.startPoint(0, { mode: 'concurrency', value: 1 });
  bar.record(true);
  bar.finish();
  t.equal(stderr.text, '');
});
