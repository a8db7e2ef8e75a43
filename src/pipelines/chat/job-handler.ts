// Main-thread face of chat jobs: validates the chat input of API.md and hands it to the model's executor.
// The exact context check needs the tokenizer and happens in the executor; here a cheap lower bound on the
// prompt's tokens refuses prompts that cannot fit, with a synchronous 400.
import { randomInt } from 'node:crypto';
import { invalidInput } from '../../server/errors.js';
import type { JobHandler, ParseContext } from '../job-handler.js';
import { CHAT_ROLES, type ChatMessage, type ChatModelInfo, type ChatPayload, type ChatResult } from './protocol.js';

export const MAX_STOP_STRINGS = 8;
export const MAX_STOP_LENGTH = 128;
export const DEFAULT_MAX_TOKENS = 256;

type Json = Record<string, unknown>;
/** with the u flag, paired surrogates read as one code point, so only lone ones are in Cs */
const LONE_SURROGATE = /\p{Cs}/u;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A string field of a chat input: refused, naming `field`, when it is not one or holds a lone surrogate. */
export function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalidInput(field, `${field} must be a string`);
  if (LONE_SURROGATE.test(value)) throw invalidInput(field, `${field} holds a lone surrogate (invalid UTF-16)`);
  return value;
}

function numberIn(input: Json, key: string, fallback: number, ok: (v: number) => boolean, range: string): number {
  const v = input[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw invalidInput(`input.${key}`, `input.${key} must be ${range}`);
  return v;
}

function messages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidInput('input.messages', 'input.messages must be a non-empty list of {role, content}');
  return value.map((m: unknown, i) => {
    const field = `input.messages[${i}]`;
    if (!isObject(m)) throw invalidInput(field, `${field} must be an object with role and content`);
    if (!(CHAT_ROLES as readonly unknown[]).includes(m.role)) throw invalidInput(`${field}.role`, `${field}.role must be one of ${CHAT_ROLES.join(', ')}`);
    return { role: m.role as ChatMessage['role'], content: text(m.content, `${field}.content`) };
  });
}

function stops(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw invalidInput('input.stop', 'input.stop must be a string or a list of strings');
  if (list.length > MAX_STOP_STRINGS) throw invalidInput('input.stop', `input.stop takes at most ${MAX_STOP_STRINGS} strings`);
  return list.map((s: unknown, i) => {
    const field = typeof value === 'string' ? 'input.stop' : `input.stop[${i}]`;
    const v = text(s, field);
    if (v.length === 0 || v.length > MAX_STOP_LENGTH) throw invalidInput(field, `${field} must be 1 to ${MAX_STOP_LENGTH} characters long`);
    return v;
  });
}

const FIELDS = new Set(['messages', 'prompt', 'max_tokens', 'temperature', 'top_p', 'top_k', 'min_p', 'repetition_penalty', 'presence_penalty', 'frequency_penalty', 'stop', 'ignore_eos', 'seed']);

export function parseChatInput(input: unknown, ctx: ParseContext): ChatPayload {
  if (!isObject(input)) throw invalidInput('input', 'input must be an object');
  for (const key of Object.keys(input)) {
    if (!FIELDS.has(key)) throw invalidInput(`input.${key.slice(0, 64)}`, `unknown chat input field (allowed: ${[...FIELDS].join(', ')})`);
  }
  const info = ctx.model.metadata.info as Partial<ChatModelInfo>;
  const hasMessages = input.messages !== undefined && input.messages !== null;
  const hasPrompt = input.prompt !== undefined && input.prompt !== null;
  if (hasMessages === hasPrompt) throw invalidInput(hasMessages ? 'input.prompt' : 'input.messages', 'give exactly one of input.messages and input.prompt');
  const prompt = hasMessages ? { messages: messages(input.messages) } : { prompt: text(input.prompt, 'input.prompt') };
  if (prompt.messages && info.has_chat_template === false) throw invalidInput('input.messages', 'this model has no chat template; send input.prompt instead');

  const context = info.context_length ?? Number.MAX_SAFE_INTEGER;
  const limit = Math.min(info.max_tokens ?? context, context);
  const maxTokens = numberIn(input, 'max_tokens', Math.min(DEFAULT_MAX_TOKENS, limit), (v) => Number.isInteger(v) && v >= 1 && v <= limit, `an integer from 1 to ${limit}`);
  // the template's markers count too: without them, a body of many empty messages would pass this check and cost the
  // executor seconds to render and tokenize before its own exact check refused it
  const chars = prompt.messages
    ? prompt.messages.reduce((n, m) => n + m.content.length, 0) + prompt.messages.length * (info.message_marker_chars ?? 0)
    : prompt.prompt.length;
  const maxTokensDefault = input.max_tokens === undefined || input.max_tokens === null;
  const fewestTokens = Math.ceil(chars / (info.max_token_chars ?? Number.MAX_SAFE_INTEGER));
  // a default max_tokens shrinks to fit (in the executor); the prompt still needs room for one token
  if (fewestTokens + (maxTokensDefault ? 1 : maxTokens) > context) {
    throw invalidInput(hasMessages ? 'input.messages' : 'input.prompt', `the prompt is at least ${fewestTokens} tokens; with input.max_tokens ${maxTokens} it exceeds the model's context of ${context} tokens`);
  }

  const ignoreEos = input.ignore_eos ?? false;
  if (typeof ignoreEos !== 'boolean') throw invalidInput('input.ignore_eos', 'input.ignore_eos must be true or false');
  const seed = input.seed;
  if (seed !== undefined && seed !== null && !Number.isSafeInteger(seed)) throw invalidInput('input.seed', 'input.seed must be an integer of magnitude at most 2^53 - 1');
  return {
    ...prompt,
    max_tokens: maxTokens,
    max_tokens_default: maxTokensDefault,
    temperature: numberIn(input, 'temperature', 1, (v) => v >= 0 && v <= 100, 'a number from 0 (greedy) to 100'),
    top_p: numberIn(input, 'top_p', 1, (v) => v > 0 && v <= 1, 'in (0, 1]'),
    top_k: numberIn(input, 'top_k', 0, (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0 (0 = off)'),
    min_p: numberIn(input, 'min_p', 0, (v) => v >= 0 && v <= 1, 'in [0, 1]'),
    repetition_penalty: numberIn(input, 'repetition_penalty', 1, (v) => v > 0 && v <= 10, 'in (0, 10]'),
    presence_penalty: numberIn(input, 'presence_penalty', 0, (v) => v >= -2 && v <= 2, 'in [-2, 2]'),
    frequency_penalty: numberIn(input, 'frequency_penalty', 0, (v) => v >= -2 && v <= 2, 'in [-2, 2]'),
    stop: stops(input.stop),
    ignore_eos: ignoreEos,
    seed: typeof seed === 'number' ? seed : randomInt(2 ** 31),
  };
}

export const chatJobHandler: JobHandler<ChatPayload> = {
  type: 'chat',
  parse: parseChatInput,
  resultOnCancel: true,
  async run(input, ctx) {
    ctx.reportSeed(input.seed);
    return ctx.execute<ChatResult>(input);
  },
};
