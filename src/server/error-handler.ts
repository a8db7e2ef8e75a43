import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ErrorCode } from './errors.js';

/** Fastify's own 4xx errors, in our codes and words. Their messages can quote input, so they are replaced. */
const FASTIFY_ERRORS: Record<string, [ErrorCode, string, string?]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'unsupported Content-Type; send application/json or multipart/form-data'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['invalid_request', 'Content-Length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['invalid_request', 'the JSON body is empty'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', 'the request body is over the node\'s --body-limit'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['invalid_request', 'the body is not valid JSON'],
  FST_INVALID_MULTIPART_CONTENT_TYPE: ['unsupported_media_type', 'the request is not multipart/form-data'],
  FST_REQ_FILE_TOO_LARGE: ['payload_too_large', 'an uploaded file is over the node\'s --upload-limit'],
  FST_PARTS_LIMIT: ['payload_too_large', 'too many multipart parts'],
  FST_FILES_LIMIT: ['payload_too_large', 'too many uploaded files'],
  // the node allows one field part, the job: a second is a malformed job, not a large one
  FST_FIELDS_LIMIT: ['invalid_request', 'a multipart job has one field part, "job"; send files as file parts', 'job'],
  FST_PROTO_VIOLATION: ['invalid_request', 'a multipart field has a forbidden name'],
  // the only field part a job takes is `job`
  FST_INVALID_JSON_FIELD_ERROR: ['invalid_request', 'the "job" part is not valid JSON', 'job'],
  FST_ERR_VALIDATION: ['invalid_request', 'the request does not match the route schema'],
};

export function toApiError(err: FastifyError | Error): ApiError | null {
  if (err instanceof ApiError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    const first = fe.validation[0];
    const field = first ? `${fe.validationContext ?? 'body'}${first.instancePath.replaceAll('/', '.')}` : undefined;
    return new ApiError('invalid_request', `invalid ${field ?? 'request'}: ${first?.message ?? 'does not match the schema'}`, field);
  }
  const known = fe.code ? FASTIFY_ERRORS[fe.code] : undefined;
  if (known) return new ApiError(known[0], known[1], known[2]);
  if (fe.statusCode === 413) return new ApiError('payload_too_large', 'the request is over the node\'s limits');
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new ApiError('invalid_request', 'the request could not be read');
  return null;
}

function sendApiError(reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.retryAfterS !== undefined) void reply.header('Retry-After', String(err.retryAfterS));
  return reply.code(err.statusCode).send(err.toBody());
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(err);
    if (apiError) return sendApiError(reply, apiError);
    // A 500 is a bug: logged with the job id only, never with the request or its payload.
    request.log.error({ jobId: request.jobId, errorClass: err.name, stack: err.stack?.split('\n').slice(1, 6).join('\n') }, 'internal error');
    return reply.code(500).send(new ApiError('internal', 'internal error; the operator can find it by time and route').toBody());
  });
  app.setNotFoundHandler((_request, reply) => sendApiError(reply, new ApiError('not_found', 'no such route')));
}
