import type { JobType } from '../../jobs/types.js';
import { parseSse } from '../sse.js';
import { type DriverContext, type RequestRecord, type SendRequest, emptyRecord, failed, jsonHeaders, memoized, now, postJson, sendForJson, thrownKind } from './record.js';

interface ChatChunk {
  choices?: { delta?: { content?: string | null } }[];
  usage?: { completion_tokens?: number } | null;
}

/** A job input (API.md "Inputs by type", chat) as an OpenAI chat completion request. */
export function chatCompletionBody(model: string, input: Record<string, unknown>): Record<string, unknown> {
  const { prompt, messages, ...sampling } = input;
  return {
    ...sampling,
    model,
    messages: messages ?? [{ role: 'user', content: prompt }],
    stream: true,
    stream_options: { include_usage: true },
  };
}

/** A job input (image) as an OpenAI image generation request: only the fields OpenAI's API defines. */
export function imageGenerationBody(model: string, input: Record<string, unknown>): Record<string, unknown> {
  const { prompt, n, width, height } = input;
  return { model, prompt, ...(n === undefined ? {} : { n }), ...(width && height ? { size: `${width}x${height}` } : {}) };
}

async function runChat(ctx: DriverContext, body: string, headers: Record<string, string>): Promise<RequestRecord> {
  const record = emptyRecord(now());
  try {
    const res = await postJson(ctx, '/v1/chat/completions', body, headers);
    if (res.statusCode !== 200) {
      await res.body.dump();
      return failed(record, `http_${res.statusCode}`);
    }
    let usageTokens: number | null = null;
    let doneAtMs: number | null = null;
    // Read to the end (the server closes the stream after [DONE]) so the connection is reused.
    for await (const message of parseSse(res.body)) {
      if (message.data === '[DONE]') {
        doneAtMs = now();
        continue;
      }
      const chunk = JSON.parse(message.data) as ChatChunk;
      if (chunk.choices?.some((c) => c.delta?.content)) record.tokenTimesMs.push(now());
      if (typeof chunk.usage?.completion_tokens === 'number') usageTokens = chunk.usage.completion_tokens;
    }
    if (doneAtMs === null) return failed(record, 'stream_ended_early');
    return { ...record, endMs: doneAtMs, outputTokens: usageTokens ?? record.tokenTimesMs.length };
  } catch (err) {
    return failed(record, thrownKind(err));
  }
}

export function openaiDriver(ctx: DriverContext, type: JobType): SendRequest {
  if (type === 'chat') {
    const body = memoized((input) => JSON.stringify(chatCompletionBody(ctx.model, input)));
    const headers = jsonHeaders(ctx, { accept: 'text/event-stream' });
    return (input) => runChat(ctx, body(input), headers);
  }
  if (type === 'image') {
    const body = memoized((input) => JSON.stringify(imageGenerationBody(ctx.model, input)));
    const headers = jsonHeaders(ctx);
    return (input) => sendForJson(ctx, '/v1/images/generations', body(input), headers);
  }
  throw new RangeError(`the OpenAI API has no ${type} route`);
}
