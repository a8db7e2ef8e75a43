// Loads a tiny-chat fixture (or a variant) as the executor would, with a recording RunContext.
import path from 'node:path';
import ort from 'onnxruntime-node';
import { JobCanceledError, type ExecutorModel, type RunContext, type SessionFactory } from '../../src/pipelines/executor-types.js';
import { loadChatModel } from '../../src/pipelines/chat/executor-model.js';
import type { ChatPayload, ChatResult } from '../../src/pipelines/chat/protocol.js';
import type { PipelineEvent } from '../../src/jobs/types.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';

export const CHAT_VARIANTS = ['tiny-chat', 'tiny-chat-merged', 'tiny-chat-no-position-ids', 'tiny-chat-fp16-kv'];

export const sessions: SessionFactory = {
  device: { id: 'cpu', kind: 'cpu', index: 0 },
  create: (file) => ort.InferenceSession.create(file, { logSeverityLevel: 3 }),
};

export async function chatModelDir(name = 'tiny-chat'): Promise<string> {
  return path.join(await fixtureModelsDir(CHAT_VARIANTS), name);
}

export async function loadChat(name = 'tiny-chat', limits?: Record<string, number>): Promise<ExecutorModel<ChatPayload, ChatResult>> {
  const dir = await chatModelDir(name);
  return (await loadChatModel({ name, type: 'chat', dir, manifest: limits ? { limits } : {} }, sessions)) as ExecutorModel<ChatPayload, ChatResult>;
}

export interface RecordingContext extends RunContext {
  events: PipelineEvent[];
  runs: number;
  batches: number[];
  cancel(): void;
}

let jobs = 0;
export function recordingContext(): RecordingContext {
  let canceled = false;
  const ctx: RecordingContext = {
    jobId: `job_${jobs++}`,
    events: [],
    runs: 0,
    batches: [],
    cancel: () => void (canceled = true),
    cancelled: () => canceled,
    throwIfCancelled: () => {
      if (canceled) throw new JobCanceledError();
    },
    emit: (event) => void ctx.events.push(event),
    observeRun: () => void (ctx.runs += 1),
    observeBatch: (size) => void ctx.batches.push(size),
  };
  return ctx;
}

/** Resolves at the first token `ctx` is given: the sequence is decoding. */
export function firstToken(ctx: RecordingContext): Promise<void> {
  return new Promise((resolve) => {
    const emit = ctx.emit;
    ctx.emit = (event) => {
      emit(event);
      if (event.event === 'token') resolve();
    };
  });
}

export const GREEDY: ChatPayload = {
  messages: [{ role: 'user', content: 'Tell me about the river' }],
  max_tokens: 24,
  max_tokens_default: false,
  temperature: 0,
  top_p: 1,
  top_k: 0,
  min_p: 0,
  repetition_penalty: 1,
  presence_penalty: 0,
  frequency_penalty: 0,
  stop: [],
  ignore_eos: false,
  seed: 1,
};

export const payload = (overrides: Partial<ChatPayload>): ChatPayload => {
  const p = { ...GREEDY, ...overrides };
  if (overrides.prompt !== undefined) delete p.messages;
  return p;
};
