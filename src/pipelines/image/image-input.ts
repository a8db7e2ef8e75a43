import type { ImageFormat } from '../../media/pool.js';
import { invalidInput } from '../../server/errors.js';
import type { ParseContext } from '../job-handler.js';
import { givenFields, imageSize, imageSource, integerField, numberField, onlyFields, promptText, schedulerField, seedField, stepsField } from '../diffusion/input-fields.js';
import type { InitImage } from '../diffusion/init-image.js';

import type { ImageModelInfo, ImageSettings } from './protocol.js';

export const IMAGE_FORMATS: readonly ImageFormat[] = ['png', 'jpeg', 'webp'];
export const CONTENT_TYPES: Record<ImageFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };
const MAX_GUIDANCE = 50;

export interface ImageInput extends ImageSettings {
  /** `maxBytes`: the node's upload limit, which bounds an inline image as it does an uploaded one */
  init: InitImage | null;
  format: ImageFormat;
  quality: number | undefined;
}

const FIELDS = new Set([
  'prompt', 'negative_prompt', 'width', 'height', 'steps', 'guidance_scale', 'scheduler', 'seed', 'n', 'init_image', 'strength', 'format', 'quality',
]);

/** Validates an image job's input against API.md and the model's limits; every refusal names its field. */
export function parseImageInput(input: unknown, ctx: ParseContext): ImageInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalidInput('input', 'input must be an object');
  onlyFields(input as Record<string, unknown>, FIELDS, 'image');
  const raw = givenFields(input as Record<string, unknown>);
  const info = ctx.model.metadata.info as unknown as ImageModelInfo;

  const { width, height } = imageSize({ width: raw.width, height: raw.height }, 'input', info, info.size_multiple, info.max_pixels);
  const scheduler = schedulerField(raw.scheduler, 'input.scheduler', info.scheduler, info.unsupported_schedulers);
  const format = (raw.format ?? 'png') as ImageFormat;
  if (!IMAGE_FORMATS.includes(format)) throw invalidInput('input.format', `input.format must be one of ${IMAGE_FORMATS.join(', ')}`);
  if (raw.quality !== undefined && format === 'png') throw invalidInput('input.quality', 'input.quality applies to jpeg and webp only');
  let init: ImageInput['init'] = null;
  if (raw.init_image !== undefined) {
    if (!info.image_to_image) throw invalidInput('input.init_image', 'this model has no VAE encoder, so it cannot start from an image');
    const strength = numberField(raw.strength, 'input.strength', 0.8, 0, 1);
    init = { image: imageSource(raw.init_image, 'input.init_image', ctx), strength, maxBytes: ctx.limits.uploadLimitBytes };
  } else if (raw.strength !== undefined) {
    throw invalidInput('input.strength', 'input.strength applies only with an init_image');
  }
  // as diffusers' LCM pipelines, which take no negative prompt: the embedded guidance was distilled against ""
  if (info.guidance_embedding && raw.negative_prompt !== undefined && raw.negative_prompt !== '') {
    throw invalidInput('input.negative_prompt', 'this model takes its guidance as an embedding (an LCM distilled with guidance), so it has no negative prompt');
  }
  return {
    prompt: promptText(raw.prompt, 'input.prompt', true),
    negativePrompt: promptText(raw.negative_prompt, 'input.negative_prompt', false),
    width,
    height,
    steps: stepsField(raw.steps, info, scheduler, init?.strength),
    guidanceScale: numberField(raw.guidance_scale, 'input.guidance_scale', info.guidance_scale, 0, MAX_GUIDANCE),
    scheduler,
    seed: seedField(raw.seed, 'input.seed'),
    n: integerField(raw.n, 'input.n', 1, 1, info.max_n),
    init,
    format,
    quality: raw.quality === undefined ? undefined : integerField(raw.quality, 'input.quality', 0, 1, 100),
  };
}
