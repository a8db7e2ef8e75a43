import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultSchedulerName, parseSchedulerConfigs, SchedulerConfigError, unsupportedSamplers, type SchedulerConfigs, type SchedulerName } from './schedulers/index.js';

export async function readJsonObject(file: string): Promise<Record<string, unknown>> {
  try {
    const value: unknown = JSON.parse(await readFile(file, 'utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

const positive = (value: unknown): number | undefined => (typeof value === 'number' && value > 0 ? value : undefined);

/** What a diffusers export's configs say about its latents and sampler. */
export interface DiffusionConfig {
  /** scheduler_config.json as each sampler reads it: a missing field takes that sampler's diffusers default */
  schedulers: SchedulerConfigs;
  /** the sampler `scheduler_config.json`'s `_class_name` stands for */
  defaultScheduler: SchedulerName;
  /** samplers (never the default one) that cannot follow scheduler_config.json, with why: a job naming one is a 400 */
  unsupportedSchedulers: Partial<Record<SchedulerName, string>>;
  /** multiplies encoder latents, divides latents before decoding (the VAE's `scaling_factor`) */
  vaeScaling: number;
  /** pixels per latent along each axis: 2^(VAE blocks − 1) */
  vaeScaleFactor: number;
  latentChannels: number;
  /** the UNet's trained size in pixels, when its config says */
  sampleSizePx: number | undefined;
  /** unet/config.json's time_cond_proj_dim: the UNet takes a guidance embedding (LCM distilled with guidance) */
  timeCondProjDim: number | undefined;
}

export async function readDiffusionConfig(dir: string): Promise<DiffusionConfig> {
  const [scheduler, unet, decoder, encoder] = await Promise.all(
    ['scheduler/scheduler_config.json', 'unet/config.json', 'vae_decoder/config.json', 'vae_encoder/config.json'].map((f) => readJsonObject(path.join(dir, f))),
  );
  const vae = Object.keys(decoder!).length ? decoder! : encoder!;
  const blocks = Array.isArray(vae.block_out_channels) ? vae.block_out_channels.length : 4;
  const vaeScaleFactor = 2 ** (blocks - 1);
  const sampleSize = positive(unet!.sample_size);
  const defaultScheduler = defaultSchedulerName(scheduler!);
  const unsupportedSchedulers = unsupportedSamplers(scheduler!);
  // the sampler every job gets unless it names another: a model it cannot follow does not load
  const refusal = unsupportedSchedulers[defaultScheduler];
  if (refusal) throw new SchedulerConfigError(`${refusal}, the sampler this model's _class_name stands for`);
  return {
    schedulers: parseSchedulerConfigs(scheduler!),
    defaultScheduler,
    unsupportedSchedulers,
    vaeScaling: positive(vae.scaling_factor) ?? 0.18215,
    vaeScaleFactor,
    latentChannels: positive(unet!.in_channels) ?? 4,
    sampleSizePx: sampleSize === undefined ? undefined : sampleSize * vaeScaleFactor,
    timeCondProjDim: positive(unet!.time_cond_proj_dim),
  };
}
