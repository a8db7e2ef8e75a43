import { randomInt } from 'node:crypto';
import { ApiError, invalidInput } from '../../server/errors.js';
import type { VideoContainer } from '../../media/ffmpeg-binary.js';
import { SCHEDULER_NAMES, type SchedulerName } from '../diffusion/schedulers/index.js';
import type { ParseContext } from '../job-handler.js';
import { MAX_SEED, imageSource, numberField, onlyFields, promptText } from '../diffusion/input-fields.js';
import type { InitImage } from '../diffusion/init-image.js';
import type { VideoModelInfo } from './protocol.js';

export const VIDEO_FORMATS: readonly VideoContainer[] = ['mp4', 'webm'];
/** under 1 fps a clip is a slideshow, and a tiny rate (1e-7) would be refused by ffmpeg only after the whole denoise */
const MIN_FPS = 1;
const MAX_FPS = 60;

export interface VideoInput {
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  frames: number;
  fps: number;
  steps: number;
  guidanceScale: number;
  seed: number;
  scheduler: SchedulerName | null;
  /** `maxBytes`: the node's upload limit, which bounds an inline image as it does an uploaded one */
  init: InitImage | null;
  format: VideoContainer;
}

const FIELDS = new Set([
  'prompt', 'negative_prompt', 'width', 'height', 'frames', 'fps', 'steps', 'guidance_scale', 'seed', 'scheduler', 'init_image', 'strength', 'format',
]);

function integer(raw: unknown, field: string, fallback: number, min: number, max: number): number {
  const value = raw ?? fallback;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalidInput(field, `${field} must be an integer from ${min} to ${max}`);
  }
  return value as number;
}

function number(raw: unknown, field: string, fallback: number, check: (n: number) => boolean, range: string): number {
  const value = raw ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) throw invalidInput(field, `${field} must be a number ${range}`);
  return value;
}

function size(raw: unknown, field: string, fallback: number, factor: number): number {
  const value = integer(raw, field, fallback, factor, 8192);
  if (value % factor !== 0) throw invalidInput(field, `${field} must be a multiple of ${factor}`);
  return value;
}

/** Validates a video job's input against API.md and the model's limits; every refusal names its field. */
export function parseVideoInput(input: unknown, ctx: ParseContext): VideoInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalidInput('input', 'input must be an object');
  const raw = input as Record<string, unknown>;
  onlyFields(raw, FIELDS, 'video');
  const info = ctx.model.metadata.info as unknown as VideoModelInfo;

  const width = size(raw.width, 'input.width', info.width, info.vae_scale_factor);
  const height = size(raw.height, 'input.height', info.height, info.vae_scale_factor);
  if (width * height > info.max_pixels) {
    throw new ApiError('payload_too_large', `width × height must be at most ${info.max_pixels} pixels for this model`, raw.width === undefined ? 'input.height' : 'input.width');
  }
  const format = raw.format ?? 'mp4';
  if (!VIDEO_FORMATS.includes(format as VideoContainer)) throw invalidInput('input.format', `format must be one of ${VIDEO_FORMATS.join(', ')}`);
  const scheduler = raw.scheduler ?? null;
  if (scheduler !== null && !SCHEDULER_NAMES.includes(scheduler as SchedulerName)) {
    throw invalidInput('input.scheduler', `scheduler must be one of ${SCHEDULER_NAMES.join(', ')}`);
  }
  let init: VideoInput['init'] = null;
  if (raw.init_image !== undefined) {
    if (!info.image_to_video) throw invalidInput('input.init_image', 'this model has no VAE encoder, so it cannot start from an image');
    const strength = number(raw.strength, 'input.strength', 0.8, (n) => n > 0 && n <= 1, 'greater than 0 and at most 1');
    init = { image: imageSource(raw.init_image, 'input.init_image', ctx), strength, maxBytes: ctx.limits.uploadLimitBytes };
  } else if (raw.strength !== undefined) {
    throw invalidInput('input.strength', 'strength applies only with an init_image');
  }
  return {
    prompt: promptText(raw.prompt, 'input.prompt', true),
    negativePrompt: promptText(raw.negative_prompt, 'input.negative_prompt', false),
    width,
    height,
    frames: integer(raw.frames, 'input.frames', info.frames, 1, info.max_frames),
    fps: numberField(raw.fps, 'input.fps', info.fps, MIN_FPS, MAX_FPS),
    steps: integer(raw.steps, 'input.steps', info.steps, 1, info.max_steps),
    guidanceScale: number(raw.guidance_scale, 'input.guidance_scale', info.guidance_scale, (n) => n >= 0 && n <= 50, 'from 0 to 50'),
    seed: integer(raw.seed, 'input.seed', randomInt(MAX_SEED), 0, MAX_SEED),
    scheduler: scheduler as SchedulerName | null,
    init,
    format: format as VideoContainer,
  };
}
