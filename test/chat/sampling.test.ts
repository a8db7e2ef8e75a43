import t from 'tap';
import { Sampler, seededRandom, topIndices, type SamplingParams } from '../../src/pipelines/chat/sampling.js';

const OFF: SamplingParams = { temperature: 1, top_k: 0, top_p: 1, min_p: 0, repetition_penalty: 1, presence_penalty: 0, frequency_penalty: 0 };
const LOGITS = [2, 1, 0.5, 3, -1, 2.9];

function draws(params: Partial<SamplingParams>, n = 2000, seed = 1, before: number[] = []): Map<number, number> {
  const sampler = new Sampler({ ...OFF, ...params }, seed, []);
  for (const tok of before) sampler.accept(tok);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const tok = sampler.sample(Float32Array.from(LOGITS), 0, LOGITS.length);
    counts.set(tok, (counts.get(tok) ?? 0) + 1);
  }
  return counts;
}

t.test('temperature 0 picks the largest logit', async (t) => {
  t.same([...draws({ temperature: 0 }, 10).keys()], [3]);
});

t.test('top_k keeps only the k most likely tokens', async (t) => {
  t.same([...draws({ top_k: 2 }).keys()].sort(), [3, 5]);
});

t.test('top_p keeps the smallest set holding that much probability', async (t) => {
  // probabilities: token 3 ~0.38, 5 ~0.35, 0 ~0.14; 0.7 needs tokens 3 and 5
  t.same([...draws({ top_p: 0.7 }).keys()].sort(), [3, 5]);
});

t.test('min_p drops tokens below that fraction of the top probability', async (t) => {
  // token 0 has exp(2-3) = 0.37 of the top probability, token 1 has 0.14
  t.same([...draws({ min_p: 0.3 }).keys()].sort(), [0, 3, 5]);
});

t.test('without filters every token can be drawn, in proportion to its probability', async (t) => {
  const counts = draws({}, 20000);
  t.equal(counts.size, LOGITS.length);
  t.ok(counts.get(3)! > counts.get(0)! && counts.get(0)! > counts.get(4)!);
});

t.test('presence and frequency penalties lower tokens already generated', async (t) => {
  t.same([...draws({ temperature: 0, presence_penalty: 0.5 }, 1, 1, [3]).keys()], [5]);
  t.same([...draws({ temperature: 0, frequency_penalty: 0.06 }, 1, 1, [3, 3]).keys()], [5]);
  t.same([...draws({ temperature: 0, frequency_penalty: 0.06 }, 1, 1, [3]).keys()], [3]);
});

t.test('the repetition penalty divides positive logits of tokens seen in the prompt', async (t) => {
  const sampler = new Sampler({ ...OFF, temperature: 0, repetition_penalty: 1.5 }, 1, [3]);
  t.equal(sampler.sample(Float32Array.from(LOGITS), 0, LOGITS.length), 5);
});

t.test('the same seed draws the same tokens, another seed other ones', async (t) => {
  const run = (seed: number) => {
    const sampler = new Sampler(OFF, seed, []);
    return Array.from({ length: 50 }, () => sampler.sample(Float32Array.from(LOGITS), 0, LOGITS.length));
  };
  t.same(run(42), run(42));
  t.notSame(run(42), run(43));
});

t.test('the seeded generator is uniform enough and stays in [0, 1)', async (t) => {
  const next = seededRandom(9);
  const xs = Array.from({ length: 10000 }, next);
  t.ok(Math.min(...xs) >= 0 && Math.max(...xs) < 1);
  t.ok(Math.abs(xs.reduce((a, b) => a + b, 0) / xs.length - 0.5) < 0.02);
});

t.test('topIndices returns the k largest, largest first, without sorting everything', async (t) => {
  t.same([...topIndices(Float32Array.from(LOGITS), LOGITS.length, 3)], [3, 5, 0]);
  t.same([...topIndices(Float32Array.from([1, 1, 1]), 3, 2)], [0, 1]);
});
