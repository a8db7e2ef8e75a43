import path from 'node:path';
import ort from 'onnxruntime-node';
import type { RunContext, SessionFactory } from '../executor-types.js';
import { loadClipTokenizer, type ClipTokenizer } from './clip-tokenizer.js';
import { readFloats, requireDeclared, timedRun, type DeclaredTensor } from './session-io.js';

/** Text embeddings for a batch of prompts: [batch, sequence, hidden], float32. */
export interface PromptEmbeddings {
  data: Float32Array;
  dims: [number, number, number];
}

/** Embeddings of prompts, and how many CLIP tokens were dropped from them to fit (see ClipEncoding). */
export interface EncodedPrompts {
  embeddings: PromptEmbeddings;
  truncated: number;
}

/**
 * CLIP tokenizer + text encoder of a diffusers export (`tokenizer/`, `text_encoder/model.onnx`): prompts to
 * `last_hidden_state`, feeding input_ids as the int32 or int64 the graph declares.
 */
export class TextEncoder {
  private constructor(
    readonly tokenizer: ClipTokenizer,
    private readonly session: ort.InferenceSession,
    private readonly inputIds: DeclaredTensor,
    private readonly output: DeclaredTensor,
  ) {}

  static async load(dir: string, sessions: SessionFactory): Promise<TextEncoder> {
    const [tokenizer, session] = await Promise.all([loadClipTokenizer(path.join(dir, 'tokenizer')), sessions.create(path.join(dir, 'text_encoder', 'model.onnx'))]);
    const inputIds = requireDeclared(session, 'text_encoder', 'input', ['input_ids']);
    if (inputIds.type !== 'int32' && inputIds.type !== 'int64') throw new Error(`text_encoder: input_ids is ${inputIds.type}, expected int32 or int64`);
    const output = requireDeclared(session, 'text_encoder', 'output', ['last_hidden_state', session.outputNames[0]!]);
    return new TextEncoder(tokenizer, session, inputIds, output);
  }

  /** One run for all `prompts`. */
  async encode(prompts: readonly string[], ctx: Pick<RunContext, 'observeRun'> | null): Promise<EncodedPrompts> {
    const length = this.tokenizer.maxLength;
    const encodings = prompts.map((prompt) => this.tokenizer.encode(prompt));
    const ids = encodings.flatMap((e) => e.ids);
    const data = this.inputIds.type === 'int64' ? BigInt64Array.from(ids, BigInt) : Int32Array.from(ids);
    const feeds = { [this.inputIds.name]: new ort.Tensor(this.inputIds.type, data, [prompts.length, length]) };
    const result = (await timedRun(this.session, 'text_encoder', feeds, ctx))[this.output.name]!;
    const dims = result.dims;
    const truncated = encodings.reduce((sum, e) => sum + e.truncated, 0);
    return { embeddings: { data: readFloats(result), dims: [dims[0]!, dims[1]!, dims[2]!] }, truncated };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * The encoder_hidden_states of a guided batch: each of `embeddings`' rows (one per prompt) repeated `count`
 * times, in order, e.g. [negative, positive] → [negative × n, positive × n].
 */
export function repeatRows(embeddings: PromptEmbeddings, count: number): PromptEmbeddings {
  const [rows, sequence, hidden] = embeddings.dims;
  const size = sequence * hidden;
  const out = new Float32Array(rows * count * size);
  for (let r = 0; r < rows; r++) {
    const row = embeddings.data.subarray(r * size, (r + 1) * size);
    for (let c = 0; c < count; c++) out.set(row, (r * count + c) * size);
  }
  return { data: out, dims: [rows * count, sequence, hidden] };
}
