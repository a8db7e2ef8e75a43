import { ApiError, invalidInput } from '../server/errors.js';
import { JOB_TYPES, type JobType } from './types.js';

export interface SubmitRequest {
  type: JobType;
  model: string;
  input: unknown;
  priority: number;
  timeoutS: number;
  outputTtlS: number;
  webhook: string | null;
}

export interface SubmitDefaults {
  timeoutS: number;
  maxTimeoutS: number;
  outputTtlS: number;
}

const FIELDS = new Set(['type', 'model', 'input', 'priority', 'timeout_s', 'output_ttl_s', 'webhook']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function boundedNumber(body: Record<string, unknown>, field: string, min: number, max: number, fallback: number, integer = false): number {
  const value = body[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw invalidInput(field, `${field} must be ${integer ? 'an integer' : 'a number'}`);
  }
  if (value < min || value > max) throw invalidInput(field, `${field} must be from ${min} to ${max}`);
  return value;
}

/** Validates the envelope of POST /v1/jobs; the type's handler validates `input`. */
export function parseSubmitRequest(body: unknown, defaults: SubmitDefaults): SubmitRequest {
  if (!isObject(body)) throw new ApiError('invalid_request', 'the request body must be a JSON object');
  for (const key of Object.keys(body)) {
    if (!FIELDS.has(key)) throw new ApiError('invalid_request', `unknown field (allowed: ${[...FIELDS].join(', ')})`, key.slice(0, 64));
  }
  const { type, model, input, webhook } = body;
  if (typeof type !== 'string' || !JOB_TYPES.includes(type as JobType)) {
    throw new ApiError('invalid_request', `type must be one of ${JOB_TYPES.join(', ')}`, 'type');
  }
  if (typeof model !== 'string' || model.length === 0) throw new ApiError('invalid_request', 'model must be a model name', 'model');
  if (!isObject(input)) throw new ApiError('invalid_request', 'input must be a JSON object', 'input');
  if (webhook !== undefined && webhook !== null && typeof webhook !== 'string') throw invalidInput('webhook', 'webhook must be a URL');
  return {
    type: type as JobType,
    model,
    input,
    priority: boundedNumber(body, 'priority', 0, 9, 5, true),
    timeoutS: boundedNumber(body, 'timeout_s', 0.001, defaults.maxTimeoutS, defaults.timeoutS),
    outputTtlS: boundedNumber(body, 'output_ttl_s', 0, defaults.outputTtlS, defaults.outputTtlS),
    webhook: (webhook as string | undefined) ?? null,
  };
}

/** Idempotency keys are echoed into maps, never logs; still refuse control characters and giant keys. */
export function parseIdempotencyKey(header: unknown): string | null {
  if (header === undefined) return null;
  if (typeof header !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(header)) {
    throw new ApiError('invalid_request', 'Idempotency-Key must be 1 to 255 visible ASCII characters', 'Idempotency-Key');
  }
  return header;
}
