// What crosses from the chat job handler (main thread) to the chat executor model, and back.
import type { SamplingParams } from './sampling.js';

export const CHAT_ROLES = ['system', 'user', 'assistant'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatPayload extends SamplingParams {
  /** exactly one of messages (rendered with the model's chat template) and prompt (raw text) */
  messages?: ChatMessage[];
  prompt?: string;
  max_tokens: number;
  /** max_tokens is the default, not the client's: lower it to what the context leaves after the prompt */
  max_tokens_default: boolean;
  stop: string[];
  /** keep generating past end-of-sequence tokens up to max_tokens (vLLM's name; fixed-length benchmarks) */
  ignore_eos: boolean;
  seed: number;
}

export type FinishReason = 'stop' | 'length' | 'cancel';

export interface ChatResult {
  text: string;
  finish_reason: FinishReason;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** ModelMetadata.info of a chat model: what the main thread's validation needs. */
export interface ChatModelInfo {
  context_length: number;
  /** upper bound of max_tokens for this model */
  max_tokens: number;
  /** the most characters one token stands for: a prompt of n characters has at least n / this tokens */
  max_token_chars: number;
  /** the fewest characters the chat template adds per message: n messages render to at least n × this */
  message_marker_chars: number;
  has_chat_template: boolean;
}
