// POST /v1/chat/completions and /v1/completions: OpenAI's protocol as an adapter on the job service. Each
// request is an ephemeral chat job (same queue, limits, erasure and metrics); its token events become chunks.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { parseSubmitRequest } from '../../jobs/submit-request.js';
import type { Job } from '../../jobs/job.js';
import { text } from '../../pipelines/chat/job-handler.js';
import type { ChatResult } from '../../pipelines/chat/protocol.js';
import { ApiError, invalidInput } from '../errors.js';
import { INPUT_FIELDS, installOpenAiErrorHandler, isJsonObject, jobFailure, type Json, type RequestNames } from '../openai-protocol.js';
import { HEARTBEAT_MS, openEventStream, type EventStream } from '../sse.js';
import type { RouteContext } from './route-context.js';

type Kind = 'chat' | 'text';

/** Request fields passed through to the chat job input under the same name. */
const SAMPLING_FIELDS = ['max_tokens', 'temperature', 'top_p', 'top_k', 'min_p', 'repetition_penalty', 'presence_penalty', 'frequency_penalty', 'stop', 'ignore_eos', 'seed'];

const isSet = (v: unknown): boolean => v !== undefined && v !== null && v !== false;
const nonEmpty = (v: unknown): boolean => isSet(v) && !(Array.isArray(v) && v.length === 0) && !(isJsonObject(v) && Object.keys(v).length === 0);

/**
 * OpenAI fields that would change the answer and that this node does not carry out: a 400 naming them, rather than
 * an answer the client cannot tell apart from one that honoured them. Fields that change nothing here (`user`,
 * `store`, `metadata`, ...) are ignored, as OpenAI's other servers do.
 */
const UNSUPPORTED: Record<Kind, Record<string, (value: unknown) => boolean>> = {
  chat: {
    logprobs: isSet,
    top_logprobs: isSet,
    logit_bias: nonEmpty,
    response_format: (v) => isSet(v) && !(isJsonObject(v) && v.type === 'text'),
    tools: nonEmpty,
    tool_choice: (v) => isSet(v) && v !== 'none' && v !== 'auto',
    functions: nonEmpty,
    function_call: (v) => isSet(v) && v !== 'none' && v !== 'auto',
    audio: isSet,
    modalities: (v) => isSet(v) && !(Array.isArray(v) && v.every((m) => m === 'text')),
  },
  text: {
    logprobs: isSet,
    logit_bias: nonEmpty,
    echo: isSet,
    best_of: (v) => isSet(v) && v !== 1,
    suffix: (v) => isSet(v) && v !== '',
  },
};

function refuseUnsupported(body: Json, kind: Kind): void {
  for (const [field, asksFor] of Object.entries(UNSUPPORTED[kind])) {
    if (asksFor(body[field])) throw invalidInput(field, `${field} is not supported by this node`);
  }
}

/** OpenAI content is a string or a list of parts; only text parts are understood here. */
function messageContent(content: unknown, field: string): unknown {
  if (!Array.isArray(content)) return content;
  return content
    .map((part: unknown, i) => {
      if (!isJsonObject(part) || part.type !== 'text' || typeof part.text !== 'string') throw invalidInput(`${field}[${i}]`, 'only text content parts are supported');
      return text(part.text, `${field}[${i}].text`);
    })
    .join('');
}

/** The chat job input of an OpenAI request body; the chat handler validates it. */
function chatInput(body: Json, kind: Kind): Json {
  const input: Json = {};
  if (kind === 'chat') {
    const messages = body.messages;
    input.messages = Array.isArray(messages)
      ? messages.map((m: unknown, i) => (isJsonObject(m) ? { role: m.role, content: messageContent(m.content, `messages[${i}].content`) } : m))
      : messages;
  } else {
    const prompt = body.prompt;
    // the chat input would name messages, which this route does not take
    if (prompt === undefined || prompt === null) throw invalidInput('prompt', 'prompt is required');
    if (Array.isArray(prompt)) {
      if (prompt.length !== 1) throw invalidInput('prompt', 'prompt must be one string (batches of prompts are not supported)');
      input.prompt = prompt[0];
    } else input.prompt = prompt;
  }
  for (const field of SAMPLING_FIELDS) if (body[field] !== undefined) input[field] = body[field];
  if (body.max_completion_tokens !== undefined) input.max_tokens = body.max_completion_tokens;
  return input;
}

/** The request's own names for the job's fields: max_tokens is max_completion_tokens where that is what it sent. */
function requestNames(body: Json): RequestNames {
  if (body.max_completion_tokens === undefined) return INPUT_FIELDS;
  const asSent = (text: string): string => INPUT_FIELDS.message(text).replace(/\bmax_tokens\b/g, 'max_completion_tokens');
  return { param: (field) => (field === undefined ? null : asSent(field)), message: asSent };
}

/** A refusal in the request's names (the error handler's own renaming leaves them as they are). */
function named(err: unknown, names: RequestNames): unknown {
  return err instanceof ApiError ? new ApiError(err.code, names.message(err.message), names.param(err.field) ?? undefined, err.retryAfterS) : err;
}

interface Completion {
  id: string;
  created: number;
  model: string;
  kind: Kind;
}

/** One streamed chunk: a choice, or none (the usage chunk). */
function chunk(c: Completion, choice: Json | null, extra: Json = {}): string {
  const object = c.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  return JSON.stringify({ id: c.id, object, created: c.created, model: c.model, choices: choice ? [{ index: 0, ...choice }] : [], ...extra });
}

export const openaiTextRoutes: FastifyPluginAsync<RouteContext> = async (app, { config, jobs }) => {
  installOpenAiErrorHandler(app, INPUT_FIELDS);

  async function complete(kind: Kind, request: FastifyRequest, reply: FastifyReply) {
    const body = request.body;
    if (!isJsonObject(body)) throw new ApiError('invalid_request', 'the request body must be a JSON object');
    if (body.n !== undefined && body.n !== null && body.n !== 1) throw invalidInput('n', 'n must be 1 (one choice per request)');
    refuseUnsupported(body, kind);
    const stream = body.stream === true;
    const includeUsage = stream && isJsonObject(body.stream_options) && body.stream_options.include_usage === true;
    const names = requestNames(body);
    let submit;
    try {
      submit = parseSubmitRequest({ type: 'chat', model: body.model, input: chatInput(body, kind) }, config);
    } catch (err) {
      throw named(err, names);
    }
    const job = await jobs.submit(request.principal, submit, { ephemeral: true }).catch((err: unknown) => Promise.reject(named(err, names)));
    request.jobId = job.id;
    const completion: Completion = {
      id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${job.id}`,
      created: Math.floor(job.createdAt.getTime() / 1000),
      model: submit.model,
      kind,
    };
    const cancelIfActive = () => {
      if (!job.terminal) void jobs.cancel(job);
    };
    if (stream) return streamCompletion(job, completion, names, includeUsage, reply, cancelIfActive);

    // the response closes early only when the client went away
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) cancelIfActive();
    });
    await job.whenEnded();
    const view = job.view();
    if (view.status !== 'succeeded') {
      const f = jobFailure(view, names);
      return reply.code(f.status).send(f.body);
    }
    const result = view.result as ChatResult;
    const choice = kind === 'chat' ? { message: { role: 'assistant', content: result.text } } : { text: result.text };
    return {
      id: completion.id,
      object: kind === 'chat' ? 'chat.completion' : 'text_completion',
      created: completion.created,
      model: completion.model,
      choices: [{ index: 0, ...choice, logprobs: null, finish_reason: result.finish_reason }],
      usage: result.usage,
    };
  }

  /**
   * The stream opens at the job's first token: a job that fails before it (a prompt over the context once tokenized,
   * a template that refuses the messages) gets its HTTP error status, as without `stream` and as vLLM answers. A
   * job still queued after HEARTBEAT_MS opens it anyway, so that proxies see bytes within their idle timeouts.
   */
  function streamCompletion(job: Job, c: Completion, names: RequestNames, includeUsage: boolean, reply: FastifyReply, cancel: () => void): FastifyReply {
    let out: EventStream | null = null;
    const usageNull = includeUsage ? { usage: null } : {};
    const content = (text: string): Json => (c.kind === 'chat' ? { delta: { content: text } } : { text });
    const send = (data: string) => out?.send({ data });
    const open = (): EventStream => {
      clearTimeout(opening);
      out = openEventStream(reply);
      send(chunk(c, { ...(c.kind === 'chat' ? { delta: { role: 'assistant', content: '' } } : { text: '' }), logprobs: null, finish_reason: null }, usageNull));
      out.onClose(cancel);
      out.onClose(() => unsubscribe());
      return out;
    };
    const opening = setTimeout(() => out ?? open(), HEARTBEAT_MS);
    // before the stream opens, the client going away is seen on the response
    reply.raw.once('close', () => {
      clearTimeout(opening);
      if (!out && !reply.raw.writableFinished) cancel();
    });
    const unsubscribe = job.events.subscribe(0, (e) => {
      if (e.event.event === 'token') {
        out ?? open();
        send(chunk(c, { ...content(e.event.data.text), logprobs: null, finish_reason: null }, usageNull));
        return;
      }
      if (e.event.event !== 'done') return;
      const view = e.event.data;
      if (!out && view.status !== 'succeeded') {
        clearTimeout(opening);
        const f = jobFailure(view, names);
        void reply.code(f.status).send(f.body);
        return;
      }
      const stream = out ?? open();
      const last: string[] = [];
      if (view.status === 'succeeded') {
        const result = view.result as ChatResult;
        last.push(chunk(c, { ...(c.kind === 'chat' ? { delta: {} } : { text: '' }), logprobs: null, finish_reason: result.finish_reason }, usageNull));
        if (includeUsage) last.push(chunk(c, null, { usage: result.usage }));
      } else {
        last.push(JSON.stringify(jobFailure(view, names).body));
      }
      last.push('[DONE]');
      stream.end(last.map((data) => ({ data })));
    });
    return reply;
  }

  const summary = (what: string) => ({ config: { scope: 'jobs:write' as const }, schema: { summary: `OpenAI ${what} (streamed or not), as a chat job`, tags: ['openai'] } });
  app.post('/v1/chat/completions', summary('chat completions'), (request, reply) => complete('chat', request, reply));
  app.post('/v1/completions', summary('text completions'), (request, reply) => complete('text', request, reply));
};
