// Next-token sampling: penalties, temperature, min-p, top-k and top-p over one row of logits, with a seeded
// PRNG per sequence. The whole vocabulary is only sorted when top-p cannot be settled on a partial selection.

export interface SamplingParams {
  /** 0 = greedy */
  temperature: number;
  /** 0 = off */
  top_k: number;
  /** 1 = off */
  top_p: number;
  /** 0 = off; keeps tokens with probability >= min_p * the top probability */
  min_p: number;
  /** 1 = off; divides positive (multiplies negative) logits of every token already in the sequence */
  repetition_penalty: number;
  /** subtracted once from the logit of every token already generated */
  presence_penalty: number;
  /** subtracted from a token's logit per time it was generated */
  frequency_penalty: number;
}

/** sfc32 seeded through splitmix32: small, fast, and the same stream for the same seed everywhere. */
export function seededRandom(seed: number): () => number {
  let s = (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** Indices of the `k` largest values (ties: lower index first), largest first; O(n log k). */
export function topIndices(values: Float32Array, n: number, k: number): Int32Array {
  const heap = new Int32Array(k);
  let size = 0;
  // min-heap on (value, -index): the root is the weakest kept candidate
  const weaker = (i: number, j: number): boolean => values[i]! < values[j]! || (values[i] === values[j] && i > j);
  const siftDown = (from: number): void => {
    let p = from;
    for (;;) {
      const l = 2 * p + 1;
      if (l >= size) return;
      const r = l + 1;
      const c = r < size && weaker(heap[r]!, heap[l]!) ? r : l;
      if (!weaker(heap[c]!, heap[p]!)) return;
      [heap[c], heap[p]] = [heap[p]!, heap[c]!];
      p = c;
    }
  };
  for (let i = 0; i < n; i++) {
    if (size < k) {
      heap[size] = i;
      let c = size++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!weaker(heap[c]!, heap[p]!)) break;
        [heap[c], heap[p]] = [heap[p]!, heap[c]!];
        c = p;
      }
    } else if (weaker(heap[0]!, i)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  const out = heap.slice(0, size);
  out.sort((i, j) => (weaker(i, j) ? 1 : weaker(j, i) ? -1 : 0));
  return out;
}

/** One sequence's sampler: remembers the tokens it has seen for the penalties. */
export class Sampler {
  private readonly random: () => number;
  private readonly seen = new Set<number>();
  private readonly generated = new Map<number, number>();
  private readonly penalized: boolean;
  private probs: Float32Array | null = null;

  constructor(
    private readonly params: SamplingParams,
    seed: number,
    promptIds: Iterable<number>,
  ) {
    this.random = seededRandom(seed);
    this.penalized = params.repetition_penalty !== 1 || params.presence_penalty !== 0 || params.frequency_penalty !== 0;
    if (params.repetition_penalty !== 1) for (const id of promptIds) this.seen.add(id);
  }

  /** Records a generated token (for the penalties). */
  accept(token: number): void {
    if (!this.penalized) return;
    this.seen.add(token);
    this.generated.set(token, (this.generated.get(token) ?? 0) + 1);
  }

  /** Picks the next token from `logits[offset .. offset + vocab)`; may modify that row. */
  sample(logits: Float32Array, offset: number, vocab: number): number {
    const row = logits.subarray(offset, offset + vocab);
    this.applyPenalties(row);
    const p = this.params;
    if (p.temperature === 0) return argmax(row);

    const probs = (this.probs ??= new Float32Array(vocab));
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) if (row[i]! > max) max = row[i]!;
    let total = 0;
    for (let i = 0; i < vocab; i++) {
      const e = Math.exp((row[i]! - max) / p.temperature);
      probs[i] = e;
      total += e;
    }
    // the top token has weight exp(0) = 1, so min_p keeps weights >= min_p
    const floor = p.min_p > 0 ? p.min_p : 0;
    const k = p.top_k > 0 ? Math.min(p.top_k, vocab) : vocab;
    if (k === vocab && p.top_p >= 1) return this.pickFromAll(probs, vocab, floor);
    return this.pickFromTop(probs, vocab, k, total, floor);
  }

  private applyPenalties(row: Float32Array): void {
    const p = this.params;
    if (p.repetition_penalty !== 1) {
      for (const id of this.seen) {
        const v = row[id]!;
        row[id] = v > 0 ? v / p.repetition_penalty : v * p.repetition_penalty;
      }
    }
    if (p.presence_penalty !== 0 || p.frequency_penalty !== 0) {
      for (const [id, count] of this.generated) row[id] = row[id]! - p.presence_penalty - p.frequency_penalty * count;
    }
  }

  private pickFromAll(probs: Float32Array, vocab: number, floor: number): number {
    let mass = 0;
    for (let i = 0; i < vocab; i++) if (probs[i]! >= floor) mass += probs[i]!;
    let r = this.random() * mass;
    let last = 0;
    for (let i = 0; i < vocab; i++) {
      if (probs[i]! < floor) continue;
      last = i;
      r -= probs[i]!;
      if (r < 0) return i;
    }
    return last;
  }

  /** top-k then top-p (relative to the top-k mass), then min-p, as transformers' warpers do. */
  private pickFromTop(probs: Float32Array, vocab: number, k: number, total: number, floor: number): number {
    const p = this.params;
    let candidates: Int32Array;
    let mass: number;
    if (k < vocab) {
      candidates = topIndices(probs, vocab, k);
      mass = 0;
      for (const i of candidates) mass += probs[i]!;
    } else {
      // top-p alone: widen a partial selection until it holds top_p of the mass
      mass = total;
      let width = Math.min(64, vocab);
      for (;;) {
        candidates = topIndices(probs, vocab, width);
        let covered = 0;
        for (const i of candidates) covered += probs[i]!;
        if (covered >= p.top_p * total || width === vocab) break;
        width = Math.min(width * 4, vocab);
      }
    }
    let keep = candidates.length;
    if (p.top_p < 1) {
      let cumulative = 0;
      for (let j = 0; j < candidates.length; j++) {
        cumulative += probs[candidates[j]!]!;
        if (cumulative >= p.top_p * mass) {
          keep = j + 1;
          break;
        }
      }
    }
    let kept = 0;
    for (let j = 0; j < keep; j++) if (probs[candidates[j]!]! >= floor) kept += probs[candidates[j]!]!;
    let r = this.random() * kept;
    for (let j = 0; j < keep; j++) {
      const i = candidates[j]!;
      if (probs[i]! < floor) continue;
      r -= probs[i]!;
      if (r < 0) return i;
    }
    return candidates[0]!;
  }
}

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}
