import { alphasCumprod, type SchedulerConfig } from './config.js';
import { predictOriginal, type Scheduler } from './scheduler.js';
import type { NormalSource } from '../noise.js';
import { integerTimesteps, spacedTimesteps } from './spacing.js';

/** ᾱ for a DDPM-style sampler: the training table, and the value past the last step. */
export function ddpmAlphas(config: SchedulerConfig): { alphaBar: Float64Array; final: number } {
  const alphaBar = alphasCumprod(config);
  return { alphaBar, final: config.set_alpha_to_one ? 1 : alphaBar[0]! };
}

/** diffusers' DDPM-style forward process: √ᾱ_t·x₀ + √(1−ᾱ_t)·ε. */
export function addDdpmNoise(alphaBar: number, original: Float32Array, noise: Float32Array): Float32Array {
  const a = Math.sqrt(alphaBar);
  const b = Math.sqrt(1 - alphaBar);
  const out = new Float32Array(original.length);
  for (let i = 0; i < out.length; i++) out[i] = a * original[i]! + b * noise[i]!;
  return out;
}

/**
 * What DDIM and PNDM share: ᾱ from the training table (past the last step 1 or ᾱ₀, by set_alpha_to_one), steps of
 * ⌊T/steps⌋ training timesteps whatever the spacing, unscaled UNet inputs, and DDPM's forward process.
 */
export abstract class DdpmGridScheduler implements Scheduler {
  abstract readonly timesteps: readonly number[];
  readonly initNoiseSigma = 1;
  protected readonly stride: number;
  private readonly alphaBar: Float64Array;
  private readonly finalAlphaBar: number;

  constructor(
    protected readonly config: SchedulerConfig,
    steps: number,
  ) {
    ({ alphaBar: this.alphaBar, final: this.finalAlphaBar } = ddpmAlphas(config));
    this.stride = Math.floor(config.num_train_timesteps / steps);
  }

  modelInputScale(): number {
    return 1;
  }

  addNoise(original: Float32Array, noise: Float32Array, step: number): Float32Array {
    return addDdpmNoise(this.alphaBarAt(this.timesteps[step]!), original, noise);
  }

  abstract step(modelOutput: Float32Array, step: number, sample: Float32Array, noise: NormalSource, item?: number): Float32Array;

  /** ᾱ at training timestep `t`; before the first (t < 0), the value past the last step */
  protected alphaBarAt(t: number): number {
    return t >= 0 ? this.alphaBar[t]! : this.finalAlphaBar;
  }
}

export function clipOriginal(config: SchedulerConfig, x0: number): number {
  if (!config.clip_sample) return x0;
  const range = config.clip_sample_range;
  return Math.min(Math.max(x0, -range), range);
}

/** DDIM with η = 0 (deterministic), as diffusers' DDIMScheduler. */
export class DdimScheduler extends DdpmGridScheduler {
  readonly timesteps: readonly number[];

  constructor(config: SchedulerConfig, steps: number) {
    super(config, steps);
    this.timesteps = integerTimesteps(spacedTimesteps(config, steps));
  }

  step(modelOutput: Float32Array, step: number, sample: Float32Array): Float32Array {
    const t = this.timesteps[step]!;
    const alphaBar = this.alphaBarAt(t);
    const alphaBarPrev = this.alphaBarAt(t - this.stride);
    const vPrediction = this.config.prediction_type === 'v_prediction';
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i]!;
      const m = modelOutput[i]!;
      const x0 = clipOriginal(this.config, predictOriginal(this.config.prediction_type, m, x, alphaBar));
      const epsilon = vPrediction ? Math.sqrt(alphaBar) * m + Math.sqrt(1 - alphaBar) * x : m;
      out[i] = Math.sqrt(alphaBarPrev) * x0 + Math.sqrt(1 - alphaBarPrev) * epsilon;
    }
    return out;
  }
}
