// Field validators shared by the diffusion job types (image, video): each refusal is an ApiError naming the field.
import { randomInt } from 'node:crypto';
import { sniffImageFormat } from '../../media/sniff.js';
import { ApiError, invalidInput } from '../../server/errors.js';
import type { ParseContext } from '../job-handler.js';
import { lcmGridSize, SCHEDULER_NAMES, type SchedulerName } from './schedulers/index.js';

export const MAX_PROMPT_CHARS = 4096;
export const MAX_SEED = 2 ** 32 - 1;
/** the largest side accepted before the pixel limit is even looked at */
const MAX_SIDE = 16384;

/** An init image: bytes sent inline (data URL or base64), or a part of a multipart job. */
export type ImageSource = { inline: Buffer } | { part: string };

export function promptText(raw: unknown, field: string, required: boolean): string {
  if (raw === undefined && !required) return '';
  if (typeof raw !== 'string' || (required && raw.trim() === '')) throw invalidInput(field, `${field} must be ${required ? 'a non-empty' : 'a'} string`);
  if (raw.length > MAX_PROMPT_CHARS) throw new ApiError('payload_too_large', `${field} must be at most ${MAX_PROMPT_CHARS} characters`, field);
  return raw;
}

export function integerField(raw: unknown, field: string, fallback: number, min: number, max: number): number {
  const value = raw ?? fallback;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) throw invalidInput(field, `${field} must be an integer from ${min} to ${max}`);
  return value as number;
}

export function numberField(raw: unknown, field: string, fallback: number, min: number, max: number): number {
  const value = raw ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw invalidInput(field, `${field} must be a number from ${min} to ${max}`);
  return value;
}

/** A diffusion model's step settings, as its info reports them. */
interface StepInfo {
  steps: number;
  max_steps: number;
  /** lcm's original_inference_steps */
  lcm_max_steps: number;
}

/**
 * input.steps, 1 to max_steps; for lcm at most the ⌊original_inference_steps × strength⌋ timesteps its grid keeps
 * (strength 1 without an init image), since it runs every step on them (diffusers' LCMScheduler refuses more).
 * The model's default is lowered to the limit.
 */
export function stepsField(raw: unknown, info: StepInfo, scheduler: SchedulerName, strength = 1): number {
  if (scheduler !== 'lcm') return integerField(raw, 'input.steps', Math.min(info.steps, info.max_steps), 1, info.max_steps);
  const original = info.lcm_max_steps;
  const grid = lcmGridSize(original, strength);
  if (grid < 1) throw invalidInput('input.strength', `input.strength ${strength} leaves lcm no timestep: ⌊original_inference_steps ${original} × strength⌋ is 0`);
  const max = Math.min(info.max_steps, original);
  const steps = integerField(raw, 'input.steps', Math.min(info.steps, max, grid), 1, max);
  if (steps > grid) {
    throw invalidInput('input.steps', `lcm at input.strength ${strength} runs on ⌊${original} × strength⌋ = ${grid} timesteps, so input.steps must be at most ${grid}`);
  }
  return steps;
}

export const seedField = (raw: unknown, field: string): number => integerField(raw, field, randomInt(MAX_SEED), 0, MAX_SEED);

/** width and height: positive multiples of `multiple` whose product stays within `maxPixels` (else 413). */
export function imageSize(raw: { width: unknown; height: unknown }, prefix: string, fallback: { width: number; height: number }, multiple: number, maxPixels: number): { width: number; height: number } {
  const side = (value: unknown, name: 'width' | 'height'): number => {
    const field = `${prefix}.${name}`;
    const n = integerField(value, field, fallback[name], 1, MAX_SIDE);
    if (n % multiple !== 0) throw invalidInput(field, `${field} must be a multiple of ${multiple}`);
    return n;
  };
  const width = side(raw.width, 'width');
  const height = side(raw.height, 'height');
  if (width * height > maxPixels) {
    const field = `${prefix}.${raw.width === undefined ? 'height' : 'width'}`;
    throw new ApiError('payload_too_large', `width × height must be at most ${maxPixels} pixels for this model`, field);
  }
  return { width, height };
}

/**
 * A sampler name, else the model's default. `unsupported` (the model's info) lists the samplers its
 * scheduler_config.json asks for something they do not implement: naming one is refused, not sampled plainly.
 */
export function schedulerField(raw: unknown, field: string, fallback: SchedulerName, unsupported: Partial<Record<SchedulerName, string>> = {}): SchedulerName {
  if (raw === undefined || raw === null) return fallback;
  if (!SCHEDULER_NAMES.includes(raw as SchedulerName)) throw invalidInput(field, `${field} must be one of ${SCHEDULER_NAMES.join(', ')}`);
  const why = unsupported[raw as SchedulerName];
  if (why) throw invalidInput(field, `${field} ${String(raw)} cannot run this model: ${why}`);
  return raw as SchedulerName;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * `data:image/...;base64,...`, bare base64, or `file:<part>` of a multipart job. Inline bytes that are not PNG,
 * JPEG or WebP by their signature (SVG, GIF, text...) are refused here, at submission (415); an uploaded part's
 * bytes, and every image's size and integrity, are checked when the media pool decodes it.
 */
export function imageSource(raw: unknown, field: string, ctx: ParseContext): ImageSource {
  if (typeof raw !== 'string' || raw === '') throw invalidInput(field, `${field} must be a data URL, base64 or "file:<part>"`);
  const part = /^file:(.+)$/.exec(raw)?.[1];
  if (part !== undefined) {
    if (!ctx.uploads.has(part)) throw invalidInput(field, `${field} names no uploaded part of this request`);
    return { part };
  }
  // RFC 2397: the media type may carry parameters (`;charset=...`, `;name=...`) before `;base64`
  const dataUrl = /^data:([^,]*?)(;base64)?,/.exec(raw);
  if (raw.startsWith('data:') && !dataUrl?.[2]) throw invalidInput(field, `${field} must be a base64 data URL`);
  const payload = dataUrl ? raw.slice(dataUrl[0].length) : raw;
  if (!BASE64.test(payload) || payload.length % 4 === 1) throw invalidInput(field, `${field} is not valid base64`);
  if ((payload.length * 3) / 4 > ctx.limits.uploadLimitBytes) throw new ApiError('payload_too_large', `${field} is larger than the upload limit`, field);
  const inline = Buffer.from(payload, 'base64');
  if (!sniffImageFormat(inline)) throw new ApiError('unsupported_media_type', `${field} must be a PNG, JPEG or WebP image`, field);
  return { inline };
}

/**
 * The input without its null fields: null is a field not given, as most fields already took it and as clients send
 * an unset optional field (Python's None), so `quality: null` or `negative_prompt: null` is not refused.
 */
export function givenFields(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null));
}

/** Refuses fields a job type does not take, naming the first (its first 64 characters: a name can be any length). */
export function onlyFields(raw: Record<string, unknown>, allowed: ReadonlySet<string>, type: string): void {
  const unknown = Object.keys(raw).find((k) => !allowed.has(k));
  if (unknown !== undefined) throw invalidInput(`input.${unknown.slice(0, 64)}`, `${type} jobs take no field of that name; they take ${[...allowed].join(', ')}`);
}
