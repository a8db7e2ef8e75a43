// One decoder session as exported by Optimum / transformers.js: detects its inputs (position_ids or not,
// use_cache_branch, fp16 caches, KV heads and head size) and runs prefill and batched decode steps.
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { float16ToFloat32 } from '../../native/kernels.js';

type Json = Record<string, unknown>;
export type KvType = 'float32' | 'float16';

export interface DecoderShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  kvType: KvType;
  positionIds: boolean;
  useCacheBranch: boolean;
  /** newer transformers.js exports take num_logits_to_keep and return only the last positions' logits */
  numLogitsToKeep: boolean;
  vocabSize: number;
}

/** A batch's KV cache: per layer key and value, [batch, kvHeads, length, headDim], sequences right-aligned. */
export interface KvCache {
  tensors: ort.Tensor[];
  length: number;
}

const PAST = /^past_key_values\.(\d+)\.(key|value)$/;

function configNumber(config: Json, ...keys: string[]): number | undefined {
  for (const key of keys) {
    const v = config[key];
    if (typeof v === 'number' && v > 0) return v;
  }
  return undefined;
}

export function describeDecoder(session: ort.InferenceSession, config: Json): DecoderShape {
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  for (const required of ['input_ids', 'attention_mask']) {
    if (!inputs.has(required)) throw new Error(`the decoder graph has no ${required} input`);
  }
  let layers = 0;
  for (const name of inputs.keys()) {
    const m = PAST.exec(name);
    if (m) layers = Math.max(layers, Number(m[1]) + 1);
  }
  if (layers === 0) throw new Error('the decoder graph has no past_key_values inputs (export it with a KV cache)');
  const past = inputs.get('past_key_values.0.key');
  if (!past?.isTensor) throw new Error('past_key_values.0.key is not a tensor input');
  const dims = past.shape;
  const heads = configNumber(config, 'num_key_value_heads', 'num_attention_heads', 'n_head');
  const kvHeads = typeof dims[1] === 'number' && dims[1] > 0 ? dims[1] : heads;
  const hidden = configNumber(config, 'hidden_size', 'n_embd');
  const headDim =
    typeof dims[3] === 'number' && dims[3] > 0
      ? dims[3]
      : configNumber(config, 'head_dim') ?? (hidden && configNumber(config, 'num_attention_heads') ? hidden / configNumber(config, 'num_attention_heads')! : undefined);
  if (!kvHeads || !headDim) throw new Error('cannot tell the KV cache shape from the graph or config.json');
  const logits = session.outputMetadata.find((m) => m.name === 'logits');
  const vocabFromGraph = logits?.isTensor ? logits.shape[2] : undefined;
  const vocabSize = typeof vocabFromGraph === 'number' && vocabFromGraph > 0 ? vocabFromGraph : configNumber(config, 'vocab_size');
  if (!vocabSize) throw new Error('cannot tell the vocabulary size from the logits output or config.json');
  return {
    layers,
    kvHeads,
    headDim,
    kvType: past.type === 'float16' ? 'float16' : 'float32',
    positionIds: inputs.has('position_ids'),
    useCacheBranch: inputs.has('use_cache_branch'),
    numLogitsToKeep: inputs.has('num_logits_to_keep'),
    vocabSize,
  };
}

function int64(values: readonly number[], dims: number[]): ort.Tensor {
  const data = new BigInt64Array(values.length);
  values.forEach((v, i) => (data[i] = BigInt(v)));
  return new ort.Tensor('int64', data, dims);
}

/** Runs the decoder; every run reports its duration to `observe`. */
export class Decoder {
  private readonly pastNames: string[];
  private readonly presentNames: string[];

  constructor(
    private readonly session: ort.InferenceSession,
    readonly shape: DecoderShape,
  ) {
    this.pastNames = [];
    this.presentNames = [];
    for (let i = 0; i < shape.layers; i++) {
      for (const kind of ['key', 'value']) {
        this.pastNames.push(`past_key_values.${i}.${kind}`);
        this.presentNames.push(`present.${i}.${kind}`);
      }
    }
  }

  emptyCache(batch: number): KvCache {
    const { kvHeads, headDim, kvType } = this.shape;
    const data = () => (kvType === 'float16' ? new Uint16Array(0) : new Float32Array(0));
    return { tensors: this.pastNames.map(() => new ort.Tensor(kvType, data(), [batch, kvHeads, 0, headDim])), length: 0 };
  }

  /**
   * Runs the prompts of sequences that join together in one run, left-padded to the longest; returns each
   * one's last-position logits ([prompts, vocab]) and a cache whose row r holds prompt r, right-aligned.
   */
  async prefill(prompts: readonly (readonly number[])[], observe: (seconds: number) => void): Promise<{ logits: Float32Array; cache: KvCache }> {
    const batch = prompts.length;
    const length = prompts.reduce((m, p) => Math.max(m, p.length), 0);
    const ids = new BigInt64Array(batch * length);
    const mask = new BigInt64Array(batch * length);
    const positions = new BigInt64Array(batch * length);
    prompts.forEach((prompt, r) => {
      const start = r * length + (length - prompt.length);
      prompt.forEach((id, j) => {
        ids[start + j] = BigInt(id);
        mask[start + j] = 1n;
        positions[start + j] = BigInt(j);
      });
    });
    const dims = [batch, length];
    const feeds = this.feeds(new ort.Tensor('int64', ids, dims), new ort.Tensor('int64', mask, dims), new ort.Tensor('int64', positions, dims), this.emptyCache(batch), false);
    const out = await this.run(feeds, observe);
    return {
      logits: lastLogits(out.logits!, this.shape.vocabSize),
      cache: { tensors: this.presentNames.map((name) => out[name]!), length },
    };
  }

  /**
   * One decode step for every sequence of the batch: row r feeds `tokens[r]` at position `lengths[r]` (its own
   * count of cached tokens; rows shorter than the cache are left-padded and masked).
   */
  async step(
    tokens: readonly number[],
    lengths: readonly number[],
    cache: KvCache,
    observe: (seconds: number) => void,
  ): Promise<{ logits: Float32Array; cache: KvCache }> {
    const batch = tokens.length;
    const total = cache.length + 1;
    const mask = new BigInt64Array(batch * total);
    for (let r = 0; r < batch; r++) mask.fill(1n, r * total + (cache.length - lengths[r]!), (r + 1) * total);
    const feeds = this.feeds(int64(tokens, [batch, 1]), new ort.Tensor('int64', mask, [batch, total]), int64(lengths, [batch, 1]), cache, true);
    const out = await this.run(feeds, observe);
    return {
      logits: lastLogits(out.logits!, this.shape.vocabSize),
      cache: { tensors: this.presentNames.map((name) => out[name]!), length: total },
    };
  }

  private feeds(ids: ort.Tensor, mask: ort.Tensor, positions: ort.Tensor, cache: KvCache, withPast: boolean): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = { input_ids: ids, attention_mask: mask };
    if (this.shape.positionIds) feeds.position_ids = positions;
    if (this.shape.useCacheBranch) feeds.use_cache_branch = new ort.Tensor('bool', [withPast], [1]);
    if (this.shape.numLogitsToKeep) feeds.num_logits_to_keep = new ort.Tensor('int64', [1n], []);
    this.pastNames.forEach((name, i) => (feeds[name] = cache.tensors[i]!));
    return feeds;
  }

  private async run(feeds: Record<string, ort.Tensor>, observe: (seconds: number) => void): Promise<ort.InferenceSession.ReturnType> {
    const started = performance.now();
    const out = await this.session.run(feeds);
    observe((performance.now() - started) / 1000);
    return out;
  }
}

/** The last position's logits of every row of `[batch, positions, vocab]`, as one `[batch, vocab]` float32 array. */
function lastLogits(logits: ort.Tensor, vocab: number): Float32Array {
  const [batch = 1, positions = 1] = logits.dims;
  const out = new Float32Array(batch * vocab);
  for (let r = 0; r < batch; r++) {
    const offset = (r * positions + positions - 1) * vocab;
    if (logits.type === 'float16') float16ToFloat32((logits.data as Uint16Array).subarray(offset, offset + vocab), out.subarray(r * vocab, (r + 1) * vocab));
    else out.set((logits.data as Float32Array).subarray(offset, offset + vocab), r * vocab);
  }
  return out;
}

/** Builds a batch cache from rows of other caches, each right-aligned to the new length (left padding). */
export function gatherCache(shape: DecoderShape, rows: readonly { cache: KvCache; row: number; length: number }[]): KvCache {
  const { kvHeads, headDim, kvType } = shape;
  const length = rows.reduce((m, r) => Math.max(m, r.length), 0);
  const batch = rows.length;
  const tensors = Array.from({ length: shape.layers * 2 }, (_, j) => {
    const data = kvType === 'float16' ? new Uint16Array(batch * kvHeads * length * headDim) : new Float32Array(batch * kvHeads * length * headDim);
    rows.forEach((src, r) => {
      const from = src.cache.tensors[j]!.data as Float32Array | Uint16Array;
      const srcLen = src.cache.length;
      for (let h = 0; h < kvHeads; h++) {
        const s = ((src.row * kvHeads + h) * srcLen + (srcLen - src.length)) * headDim;
        const d = ((r * kvHeads + h) * length + (length - src.length)) * headDim;
        data.set(from.subarray(s, s + src.length * headDim), d);
      }
    });
    return new ort.Tensor(kvType, data, [batch, kvHeads, length, headDim]);
  });
  return { tensors, length };
}
