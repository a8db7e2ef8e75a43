// POST /v1/images/generations: OpenAI's images API as an adapter on the job service. Each request is an image
// job (same queue, limits, erasure and metrics); b64_json answers carry the images and erase the job at once,
// url answers point at the job's outputs, kept for their TTL.
import type { FastifyPluginAsync } from 'fastify';
import type { Job } from '../../jobs/job.js';
import { parseSubmitRequest } from '../../jobs/submit-request.js';
import { ApiError, invalidInput } from '../errors.js';
import { installOpenAiErrorHandler, isJsonObject, jobFailure, type Json, type RequestNames } from '../openai-protocol.js';
import type { RouteContext } from './route-context.js';

/** infernode's own image fields, passed through to the job input under the same name. */
const PASSTHROUGH = ['negative_prompt', 'steps', 'guidance_scale', 'scheduler', 'seed'];
/** OpenAI fields that do not change what a diffusion model draws here. */
const IGNORED = new Set(['model', 'prompt', 'n', 'size', 'response_format', 'output_format', 'output_compression', 'quality', 'style', 'user', 'background', 'moderation', 'stream']);

/** The image job input of an OpenAI request body; the image handler validates it. */
function imageInput(body: Json): Json {
  if (body.stream === true) throw invalidInput('stream', 'streamed image generation is not supported; follow the job\'s events instead');
  const input: Json = { prompt: body.prompt };
  if (body.n !== undefined && body.n !== null) input.n = body.n;
  if (body.size !== undefined && body.size !== null && body.size !== 'auto') {
    const size = typeof body.size === 'string' ? /^(\d{1,5})x(\d{1,5})$/.exec(body.size) : null;
    if (!size) throw invalidInput('size', 'size must be "<width>x<height>", e.g. "512x512"');
    input.width = Number(size[1]);
    input.height = Number(size[2]);
  }
  if (body.output_format !== undefined && body.output_format !== null) input.format = body.output_format;
  // OpenAI takes 0–100 (default 100, the best); sharp's quality starts at 1, which is what 0 asks for
  if (body.output_compression !== undefined && body.output_compression !== null) input.quality = body.output_compression === 0 ? 1 : body.output_compression;
  for (const field of PASSTHROUGH) if (body[field] !== undefined) input[field] = body[field];
  const unknown = Object.keys(body).find((k) => !IGNORED.has(k) && !PASSTHROUGH.includes(k));
  if (unknown !== undefined) throw invalidInput(unknown.slice(0, 64), 'unknown field for /v1/images/generations');
  return input;
}

/** The request fields that carry job input fields of another name; the rest keep theirs. */
const REQUEST_FIELD: Record<string, string> = { width: 'size', height: 'size', format: 'output_format', quality: 'output_compression' };
/** how a message names a job input field that is only part of a request field */
const IN_MESSAGES: Record<string, string> = { width: "size's width", height: "size's height" };

/** Job input fields (input.width) back to the request's names (size) in refusals: their param and their message. */
const requestNames: RequestNames = {
  param(field) {
    if (!field) return null;
    const name = field.replace(/^input\./, '');
    return REQUEST_FIELD[name] ?? name;
  },
  message: (text) => text.replace(/\binput\.([a-z_]+)/g, (_, name: string) => IN_MESSAGES[name] ?? REQUEST_FIELD[name] ?? name),
};

export const openaiImageRoutes: FastifyPluginAsync<RouteContext> = async (app, { config, jobs }) => {
  installOpenAiErrorHandler(app, requestNames);

  async function b64Images(job: Job): Promise<Json[]> {
    try {
      const images = await Promise.all(job.outputs.map(async (o) => (await jobs.readOutput(job, o.name)).data));
      return images.map((data) => ({ b64_json: data.toString('base64') }));
    } finally {
      await jobs.forget(job, 'deleted');
    }
  }

  const route = { config: { scope: 'jobs:write' as const }, schema: { summary: 'OpenAI image generation, as an image job', tags: ['openai'] } };
  app.post('/v1/images/generations', route, async (request, reply) => {
    const body = request.body;
    if (!isJsonObject(body)) throw new ApiError('invalid_request', 'the request body must be a JSON object');
    const format = body.response_format ?? 'b64_json';
    if (format !== 'b64_json' && format !== 'url') throw invalidInput('response_format', 'response_format must be "b64_json" or "url"');
    const submit = parseSubmitRequest({ type: 'image', model: body.model, input: imageInput(body) }, config);
    const job = await jobs.submit(request.principal, submit);
    request.jobId = job.id;
    // the response closes early only when the client went away; the request's own 'close' comes as soon as its
    // body has been read, before this handler runs, so it never told of a client leaving
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished && !job.terminal) void jobs.cancel(job);
    });
    await job.whenEnded();
    const view = job.view();
    if (view.status !== 'succeeded') {
      if (format === 'b64_json') await jobs.forget(job, 'deleted');
      const f = jobFailure(view, requestNames);
      return reply.code(f.status).send(f.body);
    }
    const created = Math.floor(job.createdAt.getTime() / 1000);
    if (format === 'b64_json') return { created, data: await b64Images(job) };
    const origin = `${request.protocol}://${request.host}`;
    return { created, data: view.outputs.map((o) => ({ url: `${origin}${o.url}` })) };
  });
};
