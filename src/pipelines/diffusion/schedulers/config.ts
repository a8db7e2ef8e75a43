import type { SchedulerName } from './scheduler.js';

/** The fields of diffusers' `scheduler_config.json` the samplers read, as one sampler's class takes them. */
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

/** One config per sampler: the same file read as each sampler's diffusers class reads it. */
export type SchedulerConfigs = Readonly<Record<SchedulerName, SchedulerConfig>>;

/** The fields only some of the five classes take. */
type ClassSpecific = Pick<SchedulerConfig, 'set_alpha_to_one' | 'clip_sample' | 'clip_sample_range' | 'use_karras_sigmas' | 'original_inference_steps' | 'timestep_scaling'>;

/** A class's `__init__` defaults: every field the five share, and those of the class-specific ones it takes. */
type ClassDefaults = Omit<SchedulerConfig, keyof ClassSpecific> & Partial<ClassSpecific>;

/**
 * What a sampler gets for a field its class does not take, whatever the file says: diffusers drops such fields.
 * Only use_karras_sigmas is read by a sampler whose class lacks it (Euler ancestral), and false keeps it off.
 */
const NOT_TAKEN: ClassSpecific = {
  set_alpha_to_one: true,
  clip_sample: false,
  clip_sample_range: 1,
  use_karras_sigmas: false,
  original_inference_steps: 50,
  timestep_scaling: 10,
};

const DDPM_BETAS = { num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear', prediction_type: 'epsilon' } as const;

/**
 * diffusers builds the job's sampler with `<Class>.from_config(model's config)`: the fields the file has, and the
 * class's own `__init__` defaults for the rest (EulerDiscreteScheduler, EulerAncestralDiscreteScheduler,
 * DDIMScheduler, LCMScheduler, PNDMScheduler), so one missing field can mean different values to different samplers.
 */
const CLASS_DEFAULTS: Record<SchedulerName, ClassDefaults> = {
  euler: { ...DDPM_BETAS, timestep_spacing: 'linspace', steps_offset: 0, use_karras_sigmas: false },
  euler_a: { ...DDPM_BETAS, timestep_spacing: 'linspace', steps_offset: 0 },
  ddim: { ...DDPM_BETAS, timestep_spacing: 'leading', steps_offset: 0, clip_sample: true, clip_sample_range: 1, set_alpha_to_one: true },
  lcm: {
    num_train_timesteps: 1000,
    beta_start: 0.00085,
    beta_end: 0.012,
    beta_schedule: 'scaled_linear',
    prediction_type: 'epsilon',
    timestep_spacing: 'leading',
    steps_offset: 0,
    original_inference_steps: 50,
    clip_sample: false,
    clip_sample_range: 1,
    set_alpha_to_one: true,
    timestep_scaling: 10,
  },
  pndm: { ...DDPM_BETAS, timestep_spacing: 'leading', steps_offset: 0, set_alpha_to_one: false },
};

/** Every field with a value of its type, for checking a file's values. */
const FIELD_TYPES: SchedulerConfig = { ...NOT_TAKEN, ...CLASS_DEFAULTS.euler };

const ENUMS: Partial<Record<keyof SchedulerConfig, readonly string[]>> = {
  beta_schedule: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  timestep_spacing: ['leading', 'trailing', 'linspace'],
  prediction_type: ['epsilon', 'v_prediction'],
};

/** Thrown for a scheduler_config.json this node cannot follow (a load error, never a job error). */
export class SchedulerConfigError extends Error {}

/** A parsed scheduler_config.json as each sampler reads it, refusing values we would silently misread. */
export function parseSchedulerConfigs(raw: Record<string, unknown>): SchedulerConfigs {
  const given = givenFields(raw);
  const read = (defaults: ClassDefaults): SchedulerConfig => {
    const config: Record<string, unknown> = { ...NOT_TAKEN, ...defaults };
    for (const key of Object.keys(defaults)) if (key in given) config[key] = given[key as keyof SchedulerConfig];
    return config as unknown as SchedulerConfig;
  };
  return { euler: read(CLASS_DEFAULTS.euler), euler_a: read(CLASS_DEFAULTS.euler_a), ddim: read(CLASS_DEFAULTS.ddim), lcm: read(CLASS_DEFAULTS.lcm), pndm: read(CLASS_DEFAULTS.pndm) };
}

/** The fields the file sets (null counts as unset), each checked against its type and allowed values. */
function givenFields(raw: Record<string, unknown>): Partial<SchedulerConfig> {
  const given: Record<string, unknown> = {};
  for (const [key, example] of Object.entries(FIELD_TYPES)) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== typeof example) throw new SchedulerConfigError(`scheduler_config.json: ${key} must be a ${typeof example}`);
    const allowed = ENUMS[key as keyof SchedulerConfig];
    if (allowed && !allowed.includes(value as string)) {
      throw new SchedulerConfigError(`scheduler_config.json: ${key} "${String(value)}" is not supported (${allowed.join(', ')})`);
    }
    given[key] = value;
  }
  return given as Partial<SchedulerConfig>;
}

/**
 * Settings of diffusers' classes that these samplers do not implement: the value that leaves the schedule as
 * implemented, the samplers whose class takes the field (for the others diffusers drops it, so it changes
 * nothing). A file that sets one otherwise would be sampled with the plain schedule, a different image from
 * the one diffusers makes, so the sampler refuses it instead (see unsupportedSamplers).
 */
const UNIMPLEMENTED: Record<string, { plain: unknown; takenBy: readonly SchedulerName[] }> = {
  trained_betas: { plain: null, takenBy: ['euler', 'euler_a', 'ddim', 'lcm', 'pndm'] },
  rescale_betas_zero_snr: { plain: false, takenBy: ['euler', 'euler_a', 'ddim', 'lcm'] },
  thresholding: { plain: false, takenBy: ['ddim', 'lcm'] },
  interpolation_type: { plain: 'linear', takenBy: ['euler'] },
  timestep_type: { plain: 'discrete', takenBy: ['euler'] },
  final_sigmas_type: { plain: 'zero', takenBy: ['euler'] },
  use_exponential_sigmas: { plain: false, takenBy: ['euler'] },
  use_beta_sigmas: { plain: false, takenBy: ['euler'] },
  // pndm is PLMS only. PNDMScheduler's own default is to start with Runge–Kutta steps, but every PNDM file of the
  // exports (SD 1.x) says true, and a file of another class has no say: what it lacks is taken as PLMS
  skip_prk_steps: { plain: true, takenBy: ['pndm'] },
};

/** Euler reads sigma_min and sigma_max only to bound Karras' spacing, which then starts and ends elsewhere. */
const KARRAS_BOUNDS = ['sigma_min', 'sigma_max'] as const;

/**
 * Each sampler that cannot follow `raw`, with the reason: a setting of UNIMPLEMENTED its class takes, set to
 * another value than the plain one (null or absent is the class's default, which is the plain one).
 */
export function unsupportedSamplers(raw: Record<string, unknown>): Partial<Record<SchedulerName, string>> {
  const out: Partial<Record<SchedulerName, string>> = {};
  const refuse = (samplers: readonly SchedulerName[], field: string, value: unknown): void => {
    for (const name of samplers) out[name] ??= `scheduler_config.json: ${field} ${JSON.stringify(value)} is not implemented by the ${name} sampler`;
  };
  for (const [field, { plain, takenBy }] of Object.entries(UNIMPLEMENTED)) {
    const value = raw[field];
    if (value !== undefined && value !== null && value !== plain) refuse(takenBy, field, value);
  }
  if (raw.use_karras_sigmas === true) for (const field of KARRAS_BOUNDS) if (raw[field] !== undefined && raw[field] !== null) refuse(['euler'], field, raw[field]);
  return out;
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
