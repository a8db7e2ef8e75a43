import t from 'tap';
import { GaussianNoise } from '../../src/pipelines/diffusion/noise.js';
import { applyGuidance } from '../../src/pipelines/diffusion/guidance.js';

t.test('the same seed draws the same bits', async (t) => {
  t.same(new GaussianNoise(42).fill(new Float32Array(1000)), new GaussianNoise(42).fill(new Float32Array(1000)));
  t.notSame(new GaussianNoise(42).fill(new Float32Array(10)), new GaussianNoise(43).fill(new Float32Array(10)));
});

t.test('the draws are standard normal', async (t) => {
  const values = new GaussianNoise(7).fill(new Float32Array(200_000));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  const within1 = values.filter((v) => Math.abs(v) < 1).length / values.length;
  t.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  t.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
  t.ok(Math.abs(within1 - 0.6827) < 0.005, `P(|x| < 1) = ${within1}`);
});

t.test('guidance moves from the unconditional output past the conditional one by the scale', async (t) => {
  // [uncond₀, uncond₁, cond₀, cond₁] for two items of one value each
  t.same([...applyGuidance(new Float32Array([1, 2, 3, 2]), 2, 1, 7.5)], [16, 2]);
});
