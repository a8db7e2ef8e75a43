import t from 'tap';
import { percentileOfSorted, summarize } from '../../src/loadgen/stats.js';

t.test('percentiles of 1..100 interpolate linearly between closest ranks', async (t) => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i);
  const s = summarize(values);
  t.same(s?.count, 100);
  t.equal(s?.mean, 50.5);
  t.equal(s?.p50, 50.5);
  t.ok(Math.abs((s?.p90 ?? 0) - 90.1) < 1e-9);
  t.ok(Math.abs((s?.p99 ?? 0) - 99.01) < 1e-9);
});

t.test('a single value is every percentile', async (t) => {
  t.same(summarize([0.25]), { count: 1, mean: 0.25, p50: 0.25, p90: 0.25, p99: 0.25 });
});

t.test('percentiles of a skewed set follow the tail', async (t) => {
  const values = [...Array.from({ length: 98 }, () => 1), 100, 200];
  const s = summarize(values);
  t.equal(s?.p50, 1);
  t.equal(s?.p90, 1);
  t.ok(Math.abs((s?.p99 ?? 0) - 101) < 1e-9, 'p99 sits between the two outliers');
  t.equal(percentileOfSorted([1, 2, 3, 4], 100), 4);
  t.equal(percentileOfSorted([1, 2, 3, 4], 0), 1);
});

t.test('nothing measured summarises to null, not zeros', async (t) => {
  t.equal(summarize([]), null);
});
