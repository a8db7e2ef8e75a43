import t from 'tap';
import { sampleLatents } from '../../src/pipelines/diffusion/sampling.js';
import { GaussianNoise } from '../../src/pipelines/diffusion/noise.js';
import type { Scheduler } from '../../src/pipelines/diffusion/schedulers/index.js';
import type { RunContext } from '../../src/pipelines/executor-types.js';

const ctx: RunContext = { jobId: 'j', cancelled: () => false, throwIfCancelled: () => {}, emit: () => {}, observeRun: () => {}, observeBatch: () => {} };

/** Scales the UNet input by 1/(step+2) and steps by subtracting the (guided) output. */
const scheduler: Scheduler = {
  timesteps: [900, 500],
  initNoiseSigma: 1,
  modelInputScale: (step) => 1 / (step + 2),
  step: (output, _step, sample) => sample.map((x, i) => x - output[i]!),
  addNoise: (original) => original,
};

t.test('with guidance the UNet sees every item, scaled, in both halves of its batch, and steps on the guided output', async (t) => {
  const batches: number[][] = [];
  const latents = await sampleLatents({
    scheduler,
    latents: [Float32Array.of(2, 4), Float32Array.of(6, 8)],
    noise: [new GaussianNoise(1), new GaussianNoise(2)],
    firstStep: 0,
    guidanceScale: 3,
    // unconditional half predicts 0, conditional half predicts 1: guided = 0 + 3 × (1 − 0) = 3
    predict: async (batch, batchSize) => {
      batches.push([...batch, batchSize]);
      return Float32Array.from(batch, (_, i) => (i < batch.length / 2 ? 0 : 1));
    },
    ctx,
  });
  t.same(batches[0], [1, 2, 3, 4, 1, 2, 3, 4, 4], 'step 0: ×1/2, the pair [negative, positive] per item');
  t.same(batches[1], [-1 / 3, 1 / 3, 1, 5 / 3, -1 / 3, 1 / 3, 1, 5 / 3, 4].map(Math.fround), 'step 1: ×1/3 of the stepped latents');
  t.same(latents.map((l) => [...l]), [[-4, -2], [0, 2]]);
});

t.test('without guidance the batch holds each item once', async (t) => {
  const sizes: number[] = [];
  await sampleLatents({
    scheduler,
    latents: [Float32Array.of(2, 4)],
    noise: [new GaussianNoise(1)],
    firstStep: 1,
    guidanceScale: 1,
    predict: async (batch, batchSize) => {
      sizes.push(batch.length, batchSize);
      t.same([...batch], [2 / 3, 4 / 3].map(Math.fround));
      return new Float32Array(batch.length);
    },
    ctx,
  });
  t.same(sizes, [2, 1], 'one step from firstStep, one item');
});

t.test("a sampler's warm-up runs report no progress, and each item's step is told its index in the batch", async (t) => {
  const events: unknown[] = [];
  const items: number[] = [];
  await sampleLatents({
    scheduler: { ...scheduler, timesteps: [900, 500, 500, 100], warmupCalls: 1, step: (_output, _step, sample, _noise, item) => (items.push(item!), sample) },
    latents: [Float32Array.of(1), Float32Array.of(2)],
    noise: [new GaussianNoise(1), new GaussianNoise(2)],
    firstStep: 0,
    guidanceScale: 1,
    predict: async (batch) => new Float32Array(batch.length),
    ctx: { ...ctx, emit: (event) => events.push(event) },
  });
  t.same(events, [1, 2, 3].map((step) => ({ event: 'progress', data: { step, total: 3, stage: 'denoise' } })), 'four runs, three steps');
  t.same(items, [0, 1, 0, 1, 0, 1, 0, 1]);
});
