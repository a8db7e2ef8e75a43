import type { SchedulerConfig } from './config.js';
import { addDdpmNoise, clipOriginal, ddpmAlphas } from './ddim.js';
import { predictOriginal, type Scheduler } from './scheduler.js';
import type { NormalSource } from '../noise.js';

const SIGMA_DATA = 0.5;

/**
 * How many timesteps of the distillation grid image-to-image at `strength` keeps (its lowest ones): all `steps`
 * run on them, so no job may ask for more steps than this.
 */
export const lcmGridSize = (originalSteps: number, strength: number): number => Math.floor(originalSteps * strength);

/**
 * LCM's timesteps, as diffusers' LCMScheduler.set_timesteps(steps, strength=): the distillation grid (every
 * ⌊T/original_steps⌋-th timestep) cut to its lowest lcmGridSize entries, highest first, sampled at
 * ⌊linspace(0, len, steps, endpoint=False)⌋.
 */
export function lcmTimesteps(config: SchedulerConfig, steps: number, strength = 1): number[] {
  const original = config.original_inference_steps;
  const size = lcmGridSize(original, strength);
  if (steps > size) throw new RangeError(`lcm at strength ${strength} allows at most ${size} steps (⌊original_inference_steps ${original} × strength⌋)`);
  const k = Math.floor(config.num_train_timesteps / original);
  const grid = Array.from({ length: size }, (_, i) => (size - i) * k - 1);
  // numpy's linspace steps i × (size / steps), which floors differently from i·size / steps (30 / 22 at i = 11)
  return Array.from({ length: steps }, (_, i) => grid[Math.floor(i * (size / steps))]!);
}

/** Latent Consistency Model multistep sampling (Luo et al. 2023), as diffusers' LCMScheduler. */
export class LcmScheduler implements Scheduler {
  readonly timesteps: readonly number[];
  readonly initNoiseSigma = 1;
  private readonly alphaBar: Float64Array;
  private readonly finalAlphaBar: number;

  constructor(
    private readonly config: SchedulerConfig,
    steps: number,
    strength = 1,
  ) {
    this.timesteps = lcmTimesteps(config, steps, strength);
    ({ alphaBar: this.alphaBar, final: this.finalAlphaBar } = ddpmAlphas(config));
  }

  modelInputScale(): number {
    return 1;
  }

  step(modelOutput: Float32Array, step: number, sample: Float32Array, noise: NormalSource): Float32Array {
    const t = this.timesteps[step]!;
    const last = step === this.timesteps.length - 1;
    const previous = last ? t : this.timesteps[step + 1]!;
    const alphaBar = this.alphaBar[t]!;
    const alphaBarPrev = previous >= 0 ? this.alphaBar[previous]! : this.finalAlphaBar;
    const scaled = t * this.config.timestep_scaling;
    const cSkip = SIGMA_DATA ** 2 / (scaled ** 2 + SIGMA_DATA ** 2);
    const cOut = scaled / Math.sqrt(scaled ** 2 + SIGMA_DATA ** 2);
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i]!;
      const x0 = clipOriginal(this.config, predictOriginal(this.config.prediction_type, modelOutput[i]!, x, alphaBar));
      const denoised = cOut * x0 + cSkip * x;
      out[i] = last ? denoised : Math.sqrt(alphaBarPrev) * denoised + Math.sqrt(1 - alphaBarPrev) * noise.normal();
    }
    return out;
  }

  addNoise(original: Float32Array, noise: Float32Array, step: number): Float32Array {
    return addDdpmNoise(this.alphaBar[this.timesteps[step]!]!, original, noise);
  }
}
