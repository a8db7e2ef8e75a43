// What the OpenAI-compatible routes share: OpenAI's error shape, its mapping from our errors, and how a job
// that did not succeed answers.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JobView } from '../jobs/types.js';
import { toApiError } from './error-handler.js';
import { ERROR_STATUS, inRequestTerms } from './errors.js';

export type Json = Record<string, unknown>;

export const isJsonObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const OPENAI_TYPE: Partial<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
};

export type OpenAiErrorBody = { error: { message: string; type: string; param: string | null; code: string } };

export function openAiError(status: number, code: string, message: string, param: string | null): OpenAiErrorBody {
  return { error: { message, type: OPENAI_TYPE[status] ?? 'server_error', param, code } };
}

/** How a route that feeds a job names that job's input fields in its refusals: by the request's own names. */
export interface RequestNames {
  param(field: string | undefined): string | null;
  message(text: string): string;
}

/** For routes whose request fields are the job's input fields (input.max_tokens is max_tokens). */
export const INPUT_FIELDS: RequestNames = { param: (field) => (field === undefined ? null : inRequestTerms(field)), message: inRequestTerms };

/** Errors of the routes in this encapsulated context answer in OpenAI's shape, in the request's field names. */
export function installOpenAiErrorHandler(app: FastifyInstance, names: RequestNames): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(err);
    if (!apiError) {
      request.log.error({ jobId: request.jobId, errorClass: err.name }, 'internal error');
      return reply.code(500).send(openAiError(500, 'internal', 'internal error; the operator can find it by time and route', null));
    }
    if (apiError.retryAfterS !== undefined) void reply.header('Retry-After', String(apiError.retryAfterS));
    return reply.code(apiError.statusCode).send(openAiError(apiError.statusCode, apiError.code, names.message(apiError.message), names.param(apiError.field)));
  });
}

/** How an ended job that did not succeed answers: its error code's status (a client-side 499 for a cancel). */
export function jobFailure(view: JobView, names: RequestNames): { status: number; body: OpenAiErrorBody } {
  const code = view.error?.code ?? 'internal';
  const message = view.error?.message ?? 'the job failed';
  const status = (ERROR_STATUS as Record<string, number>)[code] ?? (code === 'timeout' ? 504 : code === 'canceled' ? 499 : 500);
  return { status, body: openAiError(status, code, names.message(message), names.param(view.error?.field)) };
}
