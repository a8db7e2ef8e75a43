import type { SchedulerName } from '../diffusion/schedulers/index.js';

/** What a job asks of the diffusion: the same in the validated input and in the executor payload. */
export interface ImageSettings {
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  scheduler: SchedulerName;
  seed: number;
  n: number;
}

/** What the image job handler (main thread) sends the image executor model. */
export interface ImagePayload extends ImageSettings {
  /** image-to-image: the init image as RGB bytes (HWC), already width × height */
  init: { rgb: Uint8Array; strength: number } | null;
}

export interface ImageResult {
  /** one RGB (HWC) image per requested image; their buffers are transferred */
  images: Uint8Array[];
  width: number;
  height: number;
  seed: number;
  /** CLIP tokens dropped from the end of the prompt (and negative prompt) to fit the text encoder */
  truncatedTokens: number;
}

/** A loaded image model's `metadata.info`, for validation on the main thread. */
export interface ImageModelInfo {
  width: number;
  height: number;
  steps: number;
  guidance_scale: number;
  scheduler: SchedulerName;
  /** image side lengths must be multiples of this (the VAE's spatial factor) */
  size_multiple: number;
  image_to_image: boolean;
  /** LCM caps steps at its distillation step count (times strength, for image-to-image) */
  lcm_max_steps: number;
  /** samplers that cannot follow the model's scheduler_config.json, with why (see unsupportedSamplers) */
  unsupported_schedulers: Partial<Record<SchedulerName, string>>;
  max_pixels: number;
  max_steps: number;
  max_n: number;
  /** CLIP tokens a prompt may hold (BOS and EOS excluded) before it is truncated */
  max_prompt_tokens: number;
  /** the UNet takes its guidance as an embedding (timestep_cond): no classifier-free guidance, no negative prompt */
  guidance_embedding: boolean;
}
