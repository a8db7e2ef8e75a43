import { invalidInput } from '../../server/errors.js';
import type { VideoContainer } from '../../media/ffmpeg-binary.js';
import { SCHEDULER_NAMES, type SchedulerName } from '../diffusion/schedulers/index.js';
import type { ParseContext } from '../job-handler.js';
import { givenFields, imageSize, imageSource, integerField, numberField, onlyFields, promptText, seedField, stepsField } from '../diffusion/input-fields.js';
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

/** Validates a video job's input against API.md and the model's limits; every refusal names its field. */
export function parseVideoInput(input: unknown, ctx: ParseContext): VideoInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalidInput('input', 'input must be an object');
  onlyFields(input as Record<string, unknown>, FIELDS, 'video');
  const raw = givenFields(input as Record<string, unknown>);
  const info = ctx.model.metadata.info as unknown as VideoModelInfo;

  const { width, height } = imageSize({ width: raw.width, height: raw.height }, 'input', info, info.vae_scale_factor, info.max_pixels);
  const format = raw.format ?? 'mp4';
  if (!VIDEO_FORMATS.includes(format as VideoContainer)) throw invalidInput('input.format', `format must be one of ${VIDEO_FORMATS.join(', ')}`);
  const scheduler = raw.scheduler ?? null;
  if (scheduler !== null && !SCHEDULER_NAMES.includes(scheduler as SchedulerName)) {
    throw invalidInput('input.scheduler', `scheduler must be one of ${SCHEDULER_NAMES.join(', ')}`);
  }
  const why = scheduler === null ? undefined : info.unsupported_schedulers[scheduler as SchedulerName];
  if (why) throw invalidInput('input.scheduler', `input.scheduler ${String(scheduler)} cannot run this model: ${why}`);
  let init: VideoInput['init'] = null;
  if (raw.init_image !== undefined) {
    if (!info.image_to_video) throw invalidInput('input.init_image', 'this model has no VAE encoder, so it cannot start from an image');
    const strength = numberField(raw.strength, 'input.strength', 0.8, 0, 1);
    // at 0 no step would run: the video would be the init image's frames, unchanged
    if (strength === 0) throw invalidInput('input.strength', 'input.strength must be greater than 0 and at most 1');
    init = { image: imageSource(raw.init_image, 'input.init_image', ctx), strength, maxBytes: ctx.limits.uploadLimitBytes };
  } else if (raw.strength !== undefined) {
    throw invalidInput('input.strength', 'strength applies only with an init_image');
  }
  return {
    prompt: promptText(raw.prompt, 'input.prompt', true),
    negativePrompt: promptText(raw.negative_prompt, 'input.negative_prompt', false),
    width,
    height,
    frames: integerField(raw.frames, 'input.frames', info.frames, 1, info.max_frames),
    fps: numberField(raw.fps, 'input.fps', info.fps, MIN_FPS, MAX_FPS),
    steps: stepsField(raw.steps, info, (scheduler as SchedulerName | null) ?? info.scheduler, init?.strength),
    guidanceScale: numberField(raw.guidance_scale, 'input.guidance_scale', info.guidance_scale, 0, 50),
    seed: seedField(raw.seed, 'input.seed'),
    scheduler: scheduler as SchedulerName | null,
    init,
    format: format as VideoContainer,
  };
}
