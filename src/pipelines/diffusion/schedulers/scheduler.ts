import type { NormalSource } from '../noise.js';

export const SCHEDULER_NAMES = ['euler', 'euler_a', 'ddim', 'lcm', 'pndm'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/**
 * A sampler whose tables are set for one job's step count. Samples are flat Float32Arrays of any shape (image
 * latents [b, c, h, w], video latents [b, c, f, h, w]): every operation is elementwise.
 */
export interface Scheduler {
  /** the timestep given to the UNet at each step, highest first */
  readonly timesteps: readonly number[];
  /** the standard deviation of the starting noise: pure-noise latents are N(0,1)·initNoiseSigma */
  readonly initNoiseSigma: number;
  /** what the sample is multiplied by to make the UNet's input at `step` (1 where the sampler does not rescale) */
  modelInputScale(step: number): number;
  /**
   * model calls at the start of a run that complete no step, as diffusers' num_warmup_steps (its progress bar skips
   * them): pndm's first call, whose step its second call redoes. None where absent.
   */
  readonly warmupCalls?: number;
  /**
   * one denoising step from the UNet's (guided) output; returns the sample for the next step. `item` is the
   * sample's index in the job's batch (0 when absent), for a sampler that keeps a history per sample (pndm).
   */
  step(modelOutput: Float32Array, step: number, sample: Float32Array, noise: NormalSource, item?: number): Float32Array;
  /** image-to-image: clean latents noised to the level the sampler expects at `step` */
  addNoise(original: Float32Array, noise: Float32Array, step: number): Float32Array;
}

/**
 * The step image-to-image starts at for every sampler but lcm, as diffusers' img2img pipelines: the last
 * ⌊steps·strength⌋ steps run, so strength 1 starts from pure noise and strength 0 runs none (the init image comes
 * back through the VAE).
 */
export function startStep(steps: number, strength: number): number {
  const run = Math.min(Math.floor(steps * strength), steps);
  return Math.max(steps - run, 0);
}

/** `values` × `factor`, into `out` (which may be `values` itself, or a slice of a batch). */
export function scaled(values: Float32Array, factor: number, out: Float32Array = new Float32Array(values.length)): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = values[i]! * factor;
  return out;
}

/** x̂₀ from the UNet output, for ε- and v-prediction, given ᾱ at the step. */
export function predictOriginal(prediction: 'epsilon' | 'v_prediction', out: number, sample: number, alphaBar: number): number {
  return prediction === 'epsilon'
    ? (sample - Math.sqrt(1 - alphaBar) * out) / Math.sqrt(alphaBar)
    : Math.sqrt(alphaBar) * sample - Math.sqrt(1 - alphaBar) * out;
}
