// The chat model inside an executor: tokenizer and template, one decoder session and its batching loop.
import type { ExecutorModel, ExecutorModelLoader } from '../executor-types.js';
import { PipelineError } from '../executor-types.js';
import { describeValues } from '../tensor/executor-model.js';
import { DecodeLoop, type BatchLimits } from './decode-loop.js';
import { Decoder, describeDecoder } from './decoder.js';
import { ChatText, contextLength, readChatModelFiles } from './model-files.js';
import type { ChatModelInfo, ChatPayload, ChatResult } from './protocol.js';
import { Sampler } from './sampling.js';
import { Detokenizer, StopMatcher } from './text-stream.js';

export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxBatch: 32, maxCachedTokens: 65536 };
/** prompt tokens decoded with the first generated ones, so the first token's leading space comes out right */
const DETOKENIZER_CONTEXT = 5;

export const loadChatModel: ExecutorModelLoader = async (spec, sessions) => {
  const files = await readChatModelFiles(spec.dir, spec.manifest.graph);
  const text = new ChatText(files);
  const session = await sessions.create(files.graph);
  let decoder: Decoder;
  try {
    decoder = new Decoder(session, describeDecoder(session, files.config));
  } catch (err) {
    await session.release();
    throw err;
  }
  const limits = spec.manifest.limits ?? {};
  const loop = new DecodeLoop(decoder, text.eosIds, {
    maxBatch: limits.max_batch ?? DEFAULT_BATCH_LIMITS.maxBatch,
    maxCachedTokens: limits.max_cached_tokens ?? DEFAULT_BATCH_LIMITS.maxCachedTokens,
  });
  const context = contextLength(files);
  const info: ChatModelInfo = {
    context_length: context,
    max_tokens: Math.min(limits.max_tokens ?? context, context),
    max_token_chars: text.maxTokenChars(),
    message_marker_chars: text.messageMarkerChars(),
    has_chat_template: text.hasChatTemplate,
  };

  const model: ExecutorModel<ChatPayload, ChatResult> = {
    metadata: { inputs: describeValues(session.inputMetadata), outputs: describeValues(session.outputMetadata), info: { ...info } },
    async run(payload, ctx) {
      const promptIds = text.encodePrompt(payload);
      const promptField = payload.messages ? 'input.messages' : 'input.prompt';
      if (promptIds.length === 0) throw new PipelineError('invalid_input', 'the prompt is empty once tokenized', { field: promptField });
      if (payload.max_tokens_default && promptIds.length >= context) {
        throw new PipelineError('invalid_input', `the prompt (${promptIds.length} tokens) leaves no room for a completion in the model's context of ${context} tokens`, { field: promptField });
      }
      const maxTokens = payload.max_tokens_default ? Math.min(payload.max_tokens, context - promptIds.length) : payload.max_tokens;
      if (promptIds.length + maxTokens > context) {
        throw new PipelineError('invalid_input', `the prompt (${promptIds.length} tokens) plus input.max_tokens (${maxTokens}) exceed the model's context of ${context} tokens`, { field: promptField });
      }
      ctx.throwIfCancelled();
      const result = await loop.generate({
        ctx,
        promptIds,
        maxTokens,
        ignoreEos: payload.ignore_eos,
        sampler: new Sampler(payload, payload.seed, promptIds),
        detokenizer: new Detokenizer((ids) => text.decode(ids), text.detokenizerContext(promptIds, DETOKENIZER_CONTEXT)),
        stops: new StopMatcher(payload.stop),
      });
      return { result };
    },
    async warmUp() {
      const ids = text.tokenizer.encode('warm up').ids.slice(0, 4);
      const { cache } = await decoder.prefill([ids.length > 0 ? ids : [0]], () => undefined);
      await decoder.step([ids[0] ?? 0], [cache.length], cache, () => undefined);
    },
    async dispose() {
      await session.release();
    },
  };
  return model as ExecutorModel;
};
