/** Every client-visible error code, mapped to its HTTP status once (API.md, "Errors"). */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  model_not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  queue_full: 429,
  not_ready: 503,
  draining: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * An error whose message is written for the client. Messages name the problem and the field,
 * never echo user content (prompts, file names, header values).
 */
export class ApiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = ERROR_STATUS[code];
  }

  toBody(): { error: { code: string; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

export const invalidInput = (field: string, message: string): ApiError => new ApiError('invalid_input', message, field);

/** Job input field paths in the terms of a request whose body is the input itself: input.max_tokens is max_tokens. */
export const inRequestTerms = (text: string): string => text.replace(/\binput\.(?=[a-z_])/g, '');
