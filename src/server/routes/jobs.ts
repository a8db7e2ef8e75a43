import type {} from '@fastify/multipart';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { parseIdempotencyKey, parseSubmitRequest } from '../../jobs/submit-request.js';
import { JOB_TYPES, type JobStatus, type JobType } from '../../jobs/types.js';
import type { Job } from '../../jobs/job.js';
import type { PreparedJob } from '../../jobs/job-service.js';
import { ScratchFileGone, SourceClosedEarly } from '../../scratch/vault.js';
import type { UploadSet } from '../../pipelines/job-handler.js';
import { openEventStream } from '../sse.js';
import type { RouteContext } from './route-context.js';

const STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled'];
const PART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_WAIT_S = 300;

/** `Prefer: wait=N` (N ≤ 300), or null. */
function parsePreferWait(header: string | string[] | undefined): number | null {
  const value = Array.isArray(header) ? header.join(',') : header;
  const match = value ? /(?:^|[,;\s])wait=(\d{1,6})(?:$|[,;\s])/.exec(value) : null;
  return match ? Math.min(Number(match[1]), MAX_WAIT_S) : null;
}

/**
 * The multipart parser's own failures (no boundary, a malformed part header, a body cut short) are the request's
 * fault: a 400, not a 500. Its limit errors keep their own codes (413s).
 */
function asRequestError(err: unknown): unknown {
  if (err instanceof ApiError || String((err as { code?: unknown } | null)?.code ?? '').startsWith('FST_')) return err;
  return new ApiError('invalid_request', 'the multipart body could not be read: it has no boundary, a malformed part, or ends early');
}

const UNEXPECTED_END = 'Unexpected end of multipart data';

/**
 * Whether busboy found the body cut short: it ends inside a part, or its close delimiter lacks the final `--`.
 * @fastify/multipart 9 ends the parts quietly on busboy's "Unexpected end of multipart data", as if the form were
 * complete (a file part that was stored whole before it came was then kept), so the parser's own error is listened
 * for, on the pipe the plugin feeds it by.
 */
function watchCutShort(raw: FastifyRequest['raw']): () => boolean {
  let cutShort = false;
  const pipe = raw.pipe.bind(raw);
  raw.pipe = <T extends NodeJS.WritableStream>(parser: T, options?: { end?: boolean }): T => {
    parser.on('error', (err: Error) => (cutShort ||= err.message === UNEXPECTED_END));
    return pipe(parser, options);
  };
  return () => cutShort;
}

/**
 * Counts a multipart body's bytes: `overLimit` rejects with `tooLarge()` once they pass `limitBytes`. busboy skips a
 * preamble, part headers past its headerSize, a job part past fieldSize and an epilogue without a bound, so a
 * chunked body, with no Content-Length to refuse up front, could send them until --request-timeout. Called before
 * the parts are read: the pause keeps this listener from starting the body before the parser's pipe resumes it.
 */
function countBody(raw: FastifyRequest['raw'], limitBytes: number, tooLarge: () => ApiError): { overLimit: Promise<never>; exceeded(): boolean } {
  let received = 0;
  let refuse: (err: ApiError) => void = () => undefined;
  const overLimit = new Promise<never>((_resolve, reject) => (refuse = reject));
  // it may be refused while no wait on a part races it (during a file part, or once the parts are read)
  overLimit.catch(() => undefined);
  const count = (chunk: Buffer): void => {
    received += chunk.length;
    if (received <= limitBytes) return;
    raw.off('data', count);
    refuse(tooLarge());
  };
  raw.pause();
  raw.on('data', count);
  return { overLimit, exceeded: () => received > limitBytes };
}

/** The `job` part: text, or already parsed where the part declared Content-Type: application/json. */
function jobPart(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new ApiError('invalid_request', 'the "job" part is not valid JSON', 'job');
  }
}

interface ReadBody {
  body: unknown;
  prepared: PreparedJob | undefined;
  uploads: UploadSet | undefined;
}

export const jobRoutes: FastifyPluginAsync<RouteContext> = async (app, { config, jobs }) => {
  /** multipart: a `job` part with the JSON envelope, file parts streamed (encrypted) into the job's scratch */
  async function readMultipart(request: FastifyRequest, reply: FastifyReply): Promise<ReadBody> {
    // the files are bounded by --upload-limit and the job part by --body-limit; a larger declared body is
    // refused before any of it is read, a chunked one once it is past that, and the connection closed rather
    // than drained
    const limit = config.uploadLimitBytes + config.bodyLimitBytes;
    const tooLargeRequest = (): ApiError => new ApiError('payload_too_large', `a multipart request may be at most --upload-limit + --body-limit, ${limit} bytes`);
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limit) {
      void reply.header('Connection', 'close');
      throw tooLargeRequest();
    }
    const prepared = jobs.prepare();
    request.jobId = prepared.id;
    const cutShort = watchCutShort(request.raw);
    const counted = countBody(request.raw, limit, tooLargeRequest);
    let body: unknown;
    let uploaded = 0;
    try {
      const parts = request.parts()[Symbol.asyncIterator]();
      for (;;) {
        const next = await Promise.race([parts.next(), counted.overLimit]).catch((err: unknown) => Promise.reject(asRequestError(err)));
        if (next.done) break;
        const part = next.value;
        if (part.type === 'field') {
          if (part.fieldname !== 'job') throw new ApiError('invalid_request', 'the only field part is "job" (the JSON job)', part.fieldname.slice(0, 64));
          // cut at --body-limit by the parser: not JSON any more, and too large rather than malformed
          if (part.valueTruncated) throw new ApiError('payload_too_large', `the "job" part is over the node's --body-limit of ${config.bodyLimitBytes} bytes`, 'job');
          body = jobPart(part.value);
          continue;
        }
        if (!PART_NAME.test(part.fieldname)) throw new ApiError('invalid_request', 'file part names are letters, digits, . _ - (at most 64)');
        if (prepared.scratch.inputs.has(part.fieldname)) throw new ApiError('invalid_request', 'each file part name may be used once', part.fieldname);
        const tooLarge = (): ApiError => new ApiError('payload_too_large', `uploads are over the node's --upload-limit of ${config.uploadLimitBytes} bytes`, part.fieldname);
        // The part fails when the body is malformed or cut short, or the client goes away (the request's fault);
        // the sealed file, on disk trouble. busboy reports the first with a bare 'error' emit, which a pipeline
        // attached after the vault's await would never see (the request would hang): destroying the part makes
        // its state say so.
        let sourceFailed = false;
        part.file.on('error', (err) => {
          sourceFailed = true;
          if (!part.file.destroyed) part.file.destroy(err);
        });
        const requestsFault = (err: unknown): boolean => sourceFailed || err instanceof SourceClosedEarly || request.raw.destroyed;
        uploaded += await prepared.scratch.inputs
          .writeStream(part.fieldname, part.mimetype, part.file, config.uploadLimitBytes - uploaded, tooLarge)
          .catch((err: unknown) => Promise.reject(requestsFault(err) ? asRequestError(err) : err));
        if (part.file.truncated) throw tooLarge();
      }
      // first: a job part cut off mid-body is never delivered, though it was sent
      if (cutShort()) throw new ApiError('invalid_request', 'the multipart body ends early: it was cut short, or its closing boundary lacks the final "--"');
      if (body === undefined) throw new ApiError('invalid_request', 'a multipart job needs a "job" part holding the JSON job', 'job');
    } catch (err) {
      // the rest of a body past the limit may never end
      if (counted.exceeded()) void reply.header('Connection', 'close');
      await prepared.scratch.eraseAll('deleted');
      throw err;
    }
    const vault = prepared.scratch.inputs;
    return { body, prepared, uploads: { has: (p) => vault.has(p), size: (p) => vault.get(p)?.bytes ?? 0 } };
  }

  /** A repeat with the same Idempotency-Key gets the first job as the first answer did: 202 until it has ended. */
  async function answer(job: Job, waitS: number | null, reply: FastifyReply) {
    if (waitS !== null && !job.terminal) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([job.whenEnded(), new Promise((r) => (timer = setTimeout(r, waitS * 1000)))]);
      clearTimeout(timer);
    }
    const view = job.view();
    void reply.header('Location', `/v1/jobs/${job.id}`);
    return reply.code(job.terminal && waitS !== null ? 200 : 202).send(view);
  }

  app.post('/v1/jobs', { config: { scope: 'jobs:write' }, schema: { summary: 'Submit a job (JSON or multipart/form-data)', tags: ['jobs'] } }, async (request, reply) => {
    const idempotencyKey = parseIdempotencyKey(request.headers['idempotency-key']);
    const waitS = parsePreferWait(request.headers['prefer']);
    const read: ReadBody = request.isMultipart() ? await readMultipart(request, reply) : { body: request.body, prepared: undefined, uploads: undefined };
    let submitRequest;
    try {
      submitRequest = parseSubmitRequest(read.body, config);
    } catch (err) {
      await read.prepared?.scratch.eraseAll('deleted');
      throw err;
    }
    const job = await jobs.submit(request.principal, submitRequest, {
      idempotencyKey,
      ...(read.prepared ? { prepared: read.prepared } : {}),
      ...(read.uploads ? { uploads: read.uploads } : {}),
    });
    request.jobId = job.id;
    return answer(job, waitS, reply);
  });

  app.get<{ Querystring: { status?: string; type?: string; limit?: string } }>('/v1/jobs', { config: { scope: 'jobs:read' }, schema: { summary: 'List own jobs, newest first', tags: ['jobs'] } }, async (request) => {
    const { status, type, limit } = request.query;
    if (status !== undefined && !STATUSES.includes(status as JobStatus)) throw new ApiError('invalid_request', `status must be one of ${STATUSES.join(', ')}`, 'status');
    if (type !== undefined && !JOB_TYPES.includes(type as JobType)) throw new ApiError('invalid_request', `type must be one of ${JOB_TYPES.join(', ')}`, 'type');
    const n = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw new ApiError('invalid_request', 'limit must be an integer from 1 to 1000', 'limit');
    const found = jobs.list(request.principal, { status: status as JobStatus | undefined, type: type as JobType | undefined, limit: n });
    return { jobs: found.map((j) => j.view()) };
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', { config: { scope: 'jobs:read' }, schema: { summary: 'Read a job', tags: ['jobs'] } }, async (request) => {
    const job = jobs.get(request.params.id, request.principal);
    request.jobId = job.id;
    return job.view();
  });

  app.delete<{ Params: { id: string } }>('/v1/jobs/:id', { config: { scope: 'jobs:write' }, schema: { summary: 'Cancel an active job, or erase and forget an ended one', tags: ['jobs'] } }, async (request, reply) => {
    const job = jobs.get(request.params.id, request.principal);
    request.jobId = job.id;
    if (!job.terminal) {
      await jobs.cancel(job);
      return reply.code(200).send(job.view());
    }
    await jobs.forget(job, 'deleted');
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string; name: string } }>('/v1/jobs/:id/outputs/:name', { config: { scope: 'jobs:read' }, schema: { summary: 'Download an output', tags: ['jobs'] } }, async (request, reply) => {
    const job = jobs.get(request.params.id, request.principal);
    request.jobId = job.id;
    const output = await jobs.readOutput(job, request.params.name).catch((err: unknown) => {
      throw err instanceof ScratchFileGone ? new ApiError('not_found', 'the output is no longer in scratch storage', 'name') : err;
    });
    void reply.header('Content-Type', output.contentType).header('Content-Length', String(output.data.length)).header('Cache-Control', 'no-store');
    return reply.send(output.data);
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/events', { config: { scope: 'jobs:read' }, schema: { summary: 'Server-Sent Events of a job', tags: ['jobs'] } }, async (request, reply) => {
    const job = jobs.get(request.params.id, request.principal);
    request.jobId = job.id;
    const lastEventHeader = request.headers['last-event-id'];
    let after = 0;
    if (lastEventHeader !== undefined) {
      if (typeof lastEventHeader !== 'string' || !/^\d{1,9}$/.test(lastEventHeader)) {
        throw new ApiError('invalid_request', 'Last-Event-ID must be an event id this stream sent (a non-negative integer)', 'Last-Event-ID');
      }
      after = Number(lastEventHeader);
      if (after > job.events.lastId) throw new ApiError('invalid_request', 'Last-Event-ID is past the last event of this job', 'Last-Event-ID');
    }
    const stream = openEventStream(reply);
    const unsubscribe = job.events.subscribe(after, (e) => {
      const event = { id: e.id, event: e.event.event, data: JSON.stringify(e.event.data) };
      if (e.event.event === 'done') stream.end([event]);
      else stream.send(event);
    });
    stream.onClose(unsubscribe);
  });
};
