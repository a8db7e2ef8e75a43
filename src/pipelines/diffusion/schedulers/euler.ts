import { alphasCumprod, type SchedulerConfig } from './config.js';
import type { Scheduler } from './scheduler.js';
import { spacedTimesteps } from './spacing.js';
import type { NormalSource } from '../noise.js';

const sigmaTables = new WeakMap<SchedulerConfig, readonly number[]>();

/** σ_t = √((1−ᾱ)/ᾱ) for every training timestep; once per config, as alphasCumprod. */
function trainingSigmas(config: SchedulerConfig): readonly number[] {
  let table = sigmaTables.get(config);
  if (!table) sigmaTables.set(config, (table = Array.from(alphasCumprod(config), (a) => Math.sqrt((1 - a) / a))));
  return table;
}

/** σ interpolated at a float timestep. */
function sigmaAt(sigmas: readonly number[], t: number): number {
  const low = Math.max(0, Math.min(Math.floor(t), sigmas.length - 1));
  const high = Math.min(low + 1, sigmas.length - 1);
  return sigmas[low]! + (t - low) * (sigmas[high]! - sigmas[low]!);
}

/** The float timestep of σ: linear interpolation in log σ over the training table, as diffusers' _sigma_to_t. */
function timestepOf(logSigmas: readonly number[], sigma: number): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma >= logSigmas[i]!) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const w = Math.min(Math.max((logSigmas[low]! - logSigma) / (logSigmas[low]! - logSigmas[low + 1]!), 0), 1);
  return (1 - w) * low + w * (low + 1);
}

/** Karras et al. (2022) eq. 5 with ρ = 7, from σ_max down to σ_min in `steps` values. */
function karrasSigmas(max: number, min: number, steps: number): number[] {
  const rho = 7;
  const [maxInv, minInv] = [max ** (1 / rho), min ** (1 / rho)];
  return Array.from({ length: steps }, (_, i) => (maxInv + (steps === 1 ? 0 : i / (steps - 1)) * (minInv - maxInv)) ** rho);
}

/**
 * Timesteps and σ for each step (then a final σ of 0), in float32 as diffusers holds them: σ interpolated at the
 * spaced timesteps, or (use_karras_sigmas) Karras' spacing between those σ's ends, with timesteps read back.
 */
export function eulerSchedule(config: SchedulerConfig, steps: number): { timesteps: number[]; sigmas: number[] } {
  const train = trainingSigmas(config);
  const spaced = spacedTimesteps(config, steps).map(Math.fround);
  let sigmas = spaced.map((t) => sigmaAt(train, t));
  let timesteps = spaced;
  if (config.use_karras_sigmas) {
    sigmas = karrasSigmas(sigmas[0]!, sigmas[sigmas.length - 1]!, steps);
    const logSigmas = train.map(Math.log);
    timesteps = sigmas.map((sigma) => Math.fround(timestepOf(logSigmas, sigma)));
  }
  return { timesteps, sigmas: [...sigmas.map(Math.fround), 0] };
}

/**
 * Euler (Karras et al. 2022, Algorithm 2 without churn) and Euler ancestral (k-diffusion's sample_euler_ancestral),
 * as diffusers' EulerDiscreteScheduler and EulerAncestralDiscreteScheduler: samples live at scale √(σ²+1) and the
 * UNet sees them divided by it.
 */
export class EulerScheduler implements Scheduler {
  readonly timesteps: readonly number[];
  readonly sigmas: readonly number[];
  readonly initNoiseSigma: number;

  constructor(
    private readonly config: SchedulerConfig,
    steps: number,
    private readonly ancestral: boolean,
  ) {
    ({ timesteps: this.timesteps, sigmas: this.sigmas } = eulerSchedule(config, steps));
    const max = Math.max(...this.sigmas);
    this.initNoiseSigma = config.timestep_spacing === 'leading' ? Math.sqrt(max * max + 1) : max;
  }

  modelInputScale(step: number): number {
    return 1 / Math.sqrt(this.sigmas[step]! ** 2 + 1);
  }

  step(modelOutput: Float32Array, step: number, sample: Float32Array, noise: NormalSource): Float32Array {
    const sigma = this.sigmas[step]!;
    const next = this.sigmas[step + 1]!;
    const up = this.ancestral ? Math.sqrt((next * next * (sigma * sigma - next * next)) / (sigma * sigma)) : 0;
    const down = this.ancestral ? Math.sqrt(next * next - up * up) : next;
    const dt = down - sigma;
    const vPrediction = this.config.prediction_type === 'v_prediction';
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i]!;
      const m = modelOutput[i]!;
      const original = vPrediction ? m * (-sigma / Math.sqrt(sigma * sigma + 1)) + x / (sigma * sigma + 1) : x - sigma * m;
      const derivative = (x - original) / sigma;
      out[i] = x + derivative * dt + (up > 0 ? noise.normal() * up : 0);
    }
    return out;
  }

  addNoise(original: Float32Array, noise: Float32Array, step: number): Float32Array {
    const sigma = this.sigmas[step]!;
    const out = new Float32Array(original.length);
    for (let i = 0; i < out.length; i++) out[i] = original[i]! + noise[i]! * sigma;
    return out;
  }
}
