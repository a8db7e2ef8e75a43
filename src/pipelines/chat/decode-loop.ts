// Continuous batching: one loop per model decodes every running sequence in one batched run per step. A new
// sequence is prefilled and joins at the next step; a finished or canceled one leaves at once. Past the bound
// (sequences, reserved cache tokens) new sequences wait.
import type { RunContext } from '../executor-types.js';
import { gatherCache, type Decoder, type KvCache } from './decoder.js';
import type { ChatResult, FinishReason } from './protocol.js';
import { Sampler } from './sampling.js';
import { Detokenizer, StopMatcher } from './text-stream.js';

export interface BatchLimits {
  maxBatch: number;
  /** bound on the sum of prompt + max_tokens over running sequences */
  maxCachedTokens: number;
}

export interface SequenceRequest {
  ctx: RunContext;
  promptIds: number[];
  maxTokens: number;
  ignoreEos: boolean;
  sampler: Sampler;
  detokenizer: Detokenizer;
  stops: StopMatcher;
}

interface Sequence extends SequenceRequest {
  /** tokens of this sequence in the cache */
  length: number;
  /** the token to feed at the next step */
  next: number;
  completion: number;
  text: string;
  resolve(result: ChatResult): void;
  reject(err: unknown): void;
}

export class DecodeLoop {
  private waiting: Sequence[] = [];
  private active: Sequence[] = [];
  /** active[i]'s cache is row i of this cache, or its own prefill cache while it joins */
  private cache: KvCache | null = null;
  private joined = new Map<Sequence, { cache: KvCache; row: number }>();
  private reshaped = false;
  /** row of each active sequence in `cache` (rows of sequences that left stay until the next regather) */
  private rowOf = new Map<Sequence, number>();
  private looping = false;

  constructor(
    private readonly decoder: Decoder,
    private readonly eosIds: ReadonlySet<number>,
    private readonly limits: BatchLimits,
  ) {}

  generate(request: SequenceRequest): Promise<ChatResult> {
    return new Promise<ChatResult>((resolve, reject) => {
      this.waiting.push({ ...request, length: 0, next: -1, completion: 0, text: '', resolve, reject });
      if (!this.looping) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.looping = true;
    // `looping` drops in the same tick as the last check, so a sequence arriving later starts a new loop
    while (this.waiting.length > 0 || this.active.length > 0) {
      try {
        this.dropCanceled();
        // a step of a small model is ~0.2 ms: no await (a microtask turn) when nothing waits to join
        if (this.waiting.length > 0) await this.admit();
        if (this.active.length > 0) await this.step();
      } catch (err) {
        // a failed run fails every sequence in it; the loop starts clean for the next ones
        for (const seq of [...this.active, ...this.joined.keys()]) seq.reject(err);
        this.active = [];
        this.joined.clear();
        this.cache = null;
      }
    }
    this.looping = false;
  }

  private dropCanceled(): void {
    const canceled = (s: Sequence) => s.ctx.cancelled();
    if (!this.waiting.some(canceled) && !this.active.some(canceled)) return;
    for (const seq of this.waiting.filter(canceled)) this.finish(seq, 'cancel', false);
    this.waiting = this.waiting.filter((s) => !canceled(s));
    for (const seq of this.active.filter(canceled)) this.leave(seq, () => this.finish(seq, 'cancel', false));
  }

  private reserved(seq: Sequence): number {
    return seq.promptIds.length + seq.maxTokens;
  }

  /** Prefills, in one run, the waiting sequences that fit, and lets them join the batch at the next step. */
  private async admit(): Promise<void> {
    let reserved = this.active.reduce((sum, s) => sum + this.reserved(s), 0);
    const joining: Sequence[] = [];
    for (const seq of this.waiting) {
      const fits = this.active.length + joining.length < this.limits.maxBatch && reserved + this.reserved(seq) <= this.limits.maxCachedTokens;
      // one sequence over the token bound still runs, alone
      if (!fits && (this.active.length > 0 || joining.length > 0)) break;
      joining.push(seq);
      reserved += this.reserved(seq);
    }
    if (joining.length === 0) return;
    this.waiting = this.waiting.slice(joining.length);
    let prefilled: Awaited<ReturnType<Decoder['prefill']>>;
    try {
      prefilled = await this.decoder.prefill(
        joining.map((s) => s.promptIds),
        (s) => joining[0]!.ctx.observeRun('model', s),
      );
    } catch (err) {
      for (const seq of joining) seq.reject(err);
      return;
    }
    const vocab = this.decoder.shape.vocabSize;
    joining.forEach((seq, r) => {
      seq.length = seq.promptIds.length;
      if (seq.ctx.cancelled()) {
        this.finish(seq, 'cancel', false);
        return;
      }
      this.active.push(seq);
      this.joined.set(seq, { cache: prefilled.cache, row: r });
      this.reshaped = true;
      if (this.accept(seq, seq.sampler.sample(prefilled.logits, r * vocab, vocab))) this.leave(seq, () => undefined);
    });
  }

  private async step(): Promise<void> {
    if (this.reshaped) this.regather();
    const batch = this.active;
    const lead = batch[0]!.ctx;
    lead.observeBatch(batch.length);
    const { logits, cache } = await this.decoder.step(
      batch.map((s) => s.next),
      batch.map((s) => s.length),
      this.cache!,
      (s) => lead.observeRun('model', s),
    );
    this.cache = cache;
    const vocab = this.decoder.shape.vocabSize;
    batch.forEach((seq, r) => {
      seq.length += 1;
      if (seq.ctx.cancelled()) this.leave(seq, () => this.finish(seq, 'cancel', false));
      else if (this.accept(seq, seq.sampler.sample(logits, r * vocab, vocab))) this.leave(seq, () => undefined);
    });
  }

  /** Rebuilds the batch cache after sequences joined or left (rows right-aligned, padding masked). */
  private regather(): void {
    const rows = this.active.map((seq) => {
      const own = this.joined.get(seq);
      return own ? { ...own, length: seq.length } : { cache: this.cache!, row: this.rowOf.get(seq)!, length: seq.length };
    });
    this.cache = this.active.length > 0 ? gatherCache(this.decoder.shape, rows) : null;
    this.joined.clear();
    this.rowOf = new Map(this.active.map((seq, r) => [seq, r]));
    this.reshaped = false;
  }

  private leave(seq: Sequence, settle: () => void): void {
    const at = this.active.indexOf(seq);
    if (at < 0) return;
    this.active = this.active.filter((s) => s !== seq);
    this.joined.delete(seq);
    this.reshaped = true;
    if (this.active.length === 0) {
      this.cache = null;
      this.rowOf.clear();
    }
    settle();
  }

  /** Takes a sampled token; returns true when the sequence finished (and was resolved). */
  private accept(seq: Sequence, token: number): boolean {
    if (!seq.ignoreEos && this.eosIds.has(token)) return this.finish(seq, 'stop');
    seq.completion += 1;
    seq.sampler.accept(token);
    const chunk = seq.detokenizer.push(token);
    if (chunk) {
      const { text, stopped } = seq.stops.push(chunk);
      this.emit(seq, text);
      if (stopped) return this.finish(seq, 'stop', false);
    }
    if (seq.completion >= seq.maxTokens) return this.finish(seq, 'length');
    seq.next = token;
    return false;
  }

  /**
   * Resolves the sequence. `flush`: send the text the detokenizer and the stop matcher still hold back; not after a
   * stop string (the rest is cut) nor a cancel (the result is what was streamed).
   */
  private finish(seq: Sequence, reason: FinishReason, flush = true): true {
    if (flush) {
      const { text, stopped } = seq.stops.push(seq.detokenizer.flush());
      this.emit(seq, text);
      if (!stopped) this.emit(seq, seq.stops.flush());
    }
    const prompt = seq.promptIds.length;
    seq.resolve({
      text: seq.text,
      finish_reason: reason,
      usage: { prompt_tokens: prompt, completion_tokens: seq.completion, total_tokens: prompt + seq.completion },
    });
    return true;
  }

  private emit(seq: Sequence, text: string): void {
    if (!text) return;
    seq.text += text;
    seq.ctx.emit({ event: 'token', data: { text, index: seq.completion - 1 } });
  }
}
