/** diffusers' `scheduler_config.json`, the fields the samplers read; missing fields take diffusers' defaults. */
export interface SchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
  timestep_spacing: 'leading' | 'trailing' | 'linspace';
  steps_offset: number;
  prediction_type: 'epsilon' | 'v_prediction';
  set_alpha_to_one: boolean;
  clip_sample: boolean;
  clip_sample_range: number;
  /** Euler: Karras et al.'s σ spacing (ρ = 7) between the spaced schedule's ends */
  use_karras_sigmas: boolean;
  /** LCM: the step count the model was distilled from */
  original_inference_steps: number;
  /** LCM: scale of the timestep in the consistency boundary condition */
  timestep_scaling: number;
}

export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  timestep_spacing: 'leading',
  steps_offset: 0,
  prediction_type: 'epsilon',
  set_alpha_to_one: true,
  clip_sample: false,
  clip_sample_range: 1,
  use_karras_sigmas: false,
  original_inference_steps: 50,
  timestep_scaling: 10,
};

const ENUMS: Partial<Record<keyof SchedulerConfig, readonly string[]>> = {
  beta_schedule: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  timestep_spacing: ['leading', 'trailing', 'linspace'],
  prediction_type: ['epsilon', 'v_prediction'],
};

/** Thrown for a scheduler_config.json this node cannot follow (a load error, never a job error). */
export class SchedulerConfigError extends Error {}

/** Reads the fields we use from a parsed scheduler_config.json, refusing values we would silently misread. */
export function parseSchedulerConfig(raw: Record<string, unknown>): SchedulerConfig {
  const config: Record<string, unknown> = { ...DEFAULT_SCHEDULER_CONFIG };
  for (const [key, fallback] of Object.entries(DEFAULT_SCHEDULER_CONFIG)) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== typeof fallback) throw new SchedulerConfigError(`scheduler_config.json: ${key} must be a ${typeof fallback}`);
    const allowed = ENUMS[key as keyof SchedulerConfig];
    if (allowed && !allowed.includes(value as string)) {
      throw new SchedulerConfigError(`scheduler_config.json: ${key} "${String(value)}" is not supported (${allowed.join(', ')})`);
    }
    config[key] = value;
  }
  return config as unknown as SchedulerConfig;
}

const cumprods = new WeakMap<SchedulerConfig, Float64Array>();

/**
 * ᾱ_t = ∏(1 − β_i) over the training timesteps, in float64: made once per model's config (a thousand-entry table
 * took a tenth of a millisecond of every job) and shared, so callers only read it.
 */
export function alphasCumprod(config: SchedulerConfig): Float64Array {
  let table = cumprods.get(config);
  if (!table) cumprods.set(config, (table = cumulativeProduct(config)));
  return table;
}

function cumulativeProduct(config: SchedulerConfig): Float64Array {
  const betas = betaSchedule(config);
  const out = new Float64Array(betas.length);
  let product = 1;
  for (let i = 0; i < betas.length; i++) {
    product *= 1 - betas[i]!;
    out[i] = product;
  }
  return out;
}

function betaSchedule({ num_train_timesteps: n, beta_start: start, beta_end: end, beta_schedule: kind }: SchedulerConfig): Float64Array {
  const betas = new Float64Array(n);
  const at = (i: number, a: number, b: number): number => (n === 1 ? a : a + ((b - a) * i) / (n - 1));
  for (let i = 0; i < n; i++) {
    if (kind === 'linear') betas[i] = at(i, start, end);
    else if (kind === 'scaled_linear') betas[i] = at(i, Math.sqrt(start), Math.sqrt(end)) ** 2;
    else betas[i] = Math.min(1 - cosineAlphaBar((i + 1) / n) / cosineAlphaBar(i / n), 0.999);
  }
  return betas;
}

/** The cosine ᾱ(t) of Nichol & Dhariwal (2021), as diffusers' squaredcos_cap_v2. */
const cosineAlphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
