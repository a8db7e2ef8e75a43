import type { SchedulerName } from '../diffusion/schedulers/index.js';

/** What the video job handler (main thread) and the video executor model exchange. */

export interface VideoDenoisePayload {
  op: 'denoise';
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  frames: number;
  steps: number;
  guidanceScale: number;
  seed: number;
  scheduler: SchedulerName | null;
  /** image-to-video: the init image as the VAE encoder's input (3 × height × width, [-1, 1]) */
  init: { planar: Float32Array; strength: number } | null;
}

export interface VideoDenoiseResult {
  /** frame-major latents, frames × channels × (height/8) × (width/8), already unscaled for the VAE */
  latents: Float32Array;
}

export interface VideoDecodePayload {
  op: 'decode';
  /** one frame's latents, channels × (height/8) × (width/8) */
  latents: Float32Array;
  width: number;
  height: number;
}

export interface VideoDecodeResult {
  /** 3 × height × width, [-1, 1] */
  planar: Float32Array;
}

export type VideoPayload = VideoDenoisePayload | VideoDecodePayload;

/** What a loaded video model reports in its metadata's `info`, for validation on the main thread. */
export interface VideoModelInfo {
  width: number;
  height: number;
  frames: number;
  fps: number;
  steps: number;
  guidance_scale: number;
  /** the spatial factor between pixels and latents */
  vae_scale_factor: number;
  /** image-to-video needs a VAE encoder */
  image_to_video: boolean;
  /** the sampler of a job that names none */
  scheduler: SchedulerName;
  /** LCM caps steps at its distillation step count (times strength, for image-to-video) */
  lcm_max_steps: number;
  /** samplers that cannot follow the model's scheduler_config.json, with why (see unsupportedSamplers) */
  unsupported_schedulers: Partial<Record<SchedulerName, string>>;
  max_frames: number;
  max_pixels: number;
  max_steps: number;
}
