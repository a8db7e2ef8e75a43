import t from 'tap';
import { poissonGapsMs, seededRandom } from '../../src/loadgen/random.js';

const take = (n: number, gen: Generator<number>): number[] => Array.from({ length: n }, () => gen.next().value as number);

t.test('the same seed gives the same arrival schedule, another seed a different one', async (t) => {
  t.same(take(50, poissonGapsMs(10, seededRandom(7))), take(50, poissonGapsMs(10, seededRandom(7))));
  t.not(take(5, poissonGapsMs(10, seededRandom(7)))[0], take(5, poissonGapsMs(10, seededRandom(8)))[0]);
});

t.test('gaps are exponential: mean 1/rate and coefficient of variation 1', async (t) => {
  const gaps = take(20000, poissonGapsMs(20, seededRandom(42)));
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / (gaps.length - 1));
  t.ok(Math.abs(mean - 50) / 50 < 0.03, `mean gap ${mean} ms is within 3% of 50 ms`);
  t.ok(Math.abs(sd / mean - 1) < 0.03, `coefficient of variation ${sd / mean} is within 3% of 1`);
  t.ok(gaps.every((g) => g >= 0 && Number.isFinite(g)));
});

t.test('arrivals per second are Poisson: variance equals the mean', async (t) => {
  const rate = 8;
  const gen = poissonGapsMs(rate, seededRandom(3));
  const windows = new Array<number>(2000).fill(0);
  for (let at = gen.next().value; at < windows.length * 1000; at += gen.next().value) windows[Math.floor(at / 1000)]!++;
  const mean = windows.reduce((a, b) => a + b, 0) / windows.length;
  const variance = windows.reduce((a, n) => a + (n - mean) ** 2, 0) / (windows.length - 1);
  t.ok(Math.abs(mean - rate) / rate < 0.03, `mean count ${mean} per second`);
  t.ok(Math.abs(variance / mean - 1) < 0.1, `index of dispersion ${variance / mean}`);
});

t.test('a rate that is not positive is refused', async (t) => {
  t.throws(() => poissonGapsMs(0, seededRandom(1)).next(), RangeError);
});
