import type { RunContext } from '../executor-types.js';
import { applyGuidance, usesGuidance } from './guidance.js';
import { GaussianNoise } from './noise.js';
import type { Scheduler } from './schedulers/index.js';
import { scaled } from './schedulers/scheduler.js';

/** Each item's own noise stream, seeded `seed + i`: item i is the same whether made alone or in a batch. */
export const itemNoise = (seed: number, count: number): GaussianNoise[] => Array.from({ length: count }, (_, i) => new GaussianNoise((seed + i) >>> 0));

/**
 * Each item's stream for sampling the VAE encoder's posterior, seeded `seed + i − 1`: apart from the item's own
 * latent noise, and the same whether the item is made alone or in a batch.
 */
export const posteriorNoise = (seed: number, count: number): GaussianNoise[] => itemNoise(seed - 1, count);

/**
 * Starting latents, one flat array per item (any shape of `size` values): pure noise at the sampler's initial
 * scale, or (image-to-image) each item's init latents noised to the level of `firstStep`, or, at a strength so low
 * that no step runs, the init latents themselves (a sampler has no noise level past its last step to add).
 */
export function initialLatents(scheduler: Scheduler, noise: GaussianNoise[], size: number, init: { latents: Float32Array[]; firstStep: number } | null): Float32Array[] {
  if (init && init.firstStep >= scheduler.timesteps.length) return init.latents;
  return noise.map((source, i) => {
    const drawn = source.fill(new Float32Array(size));
    if (!init) return scaled(drawn, scheduler.initNoiseSigma, drawn);
    return scheduler.addNoise(init.latents[i]!, drawn, init.firstStep);
  });
}

export interface SamplingOptions {
  scheduler: Scheduler;
  /** from initialLatents; replaced step by step */
  latents: Float32Array[];
  noise: GaussianNoise[];
  firstStep: number;
  guidanceScale: number;
  /**
   * The UNet on a batch of items concatenated (with guidance, 2× the items: unconditional first), returning
   * its output in the same layout.
   */
  predict(batch: Float32Array, batchSize: number, timestep: number): Promise<Float32Array>;
  ctx: RunContext;
}

/**
 * The denoising loop: one UNet run a step for all items (and the guidance pair), cancel checked between runs. A
 * progress event follows each step the job asked for: a sampler's warm-up runs (pndm's first) report none.
 */
export async function sampleLatents(options: SamplingOptions): Promise<Float32Array[]> {
  const { scheduler, noise, firstStep, guidanceScale, predict, ctx } = options;
  let latents = options.latents;
  const count = latents.length;
  const size = latents[0]!.length;
  const guided = usesGuidance(guidanceScale);
  const warmup = scheduler.warmupCalls ?? 0;
  const total = scheduler.timesteps.length - firstStep - warmup;
  const batch = new Float32Array((guided ? 2 : 1) * count * size);
  const guidedOutput = guided ? new Float32Array(count * size) : null;
  for (let step = firstStep; step < scheduler.timesteps.length; step++) {
    ctx.throwIfCancelled();
    const inputScale = scheduler.modelInputScale(step);
    latents.forEach((item, i) => {
      scaled(item, inputScale, batch.subarray(i * size, (i + 1) * size));
      if (guided) batch.copyWithin((count + i) * size, i * size, (i + 1) * size);
    });
    const raw = await predict(batch, guided ? 2 * count : count, scheduler.timesteps[step]!);
    const output = guidedOutput ? applyGuidance(raw, count, size, guidanceScale, guidedOutput) : raw;
    latents = latents.map((item, i) => scheduler.step(output.subarray(i * size, (i + 1) * size), step, item, noise[i]!, i));
    const done = step - firstStep + 1 - warmup;
    if (done > 0) ctx.emit({ event: 'progress', data: { step: done, total, stage: 'denoise' } });
  }
  ctx.throwIfCancelled();
  return latents;
}
