// Token ids -> text as it is generated: never splits a UTF-8 character (a byte-level or byte-fallback token may
// carry part of one) and holds back text that may be the start of a stop string, so stops never leak out.

type Decode = (ids: number[]) => string;

/** Incremental detokenizer (as vLLM does it): decodes a short window so spaces between tokens come out right. */
export class Detokenizer {
  private readonly ids: number[];
  private prefixOffset: number;
  private readOffset: number;

  /** `context`: the last few prompt tokens, so the first generated token keeps its leading space */
  constructor(
    private readonly decode: Decode,
    context: readonly number[],
  ) {
    this.ids = [...context];
    this.prefixOffset = 0;
    this.readOffset = this.ids.length;
  }

  /** Adds a token; returns the new complete text ('' while a character is still incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const prefix = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decode(this.ids.slice(this.prefixOffset));
    if (full.length <= prefix.length || full.endsWith('\uFFFD')) return '';
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return full.slice(prefix.length);
  }

  /** What is left when generation ends (an incomplete character comes out as U+FFFD). */
  flush(): string {
    if (this.readOffset === this.ids.length) return '';
    const prefix = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decode(this.ids.slice(this.prefixOffset));
    this.readOffset = this.ids.length;
    return full.length > prefix.length ? full.slice(prefix.length) : '';
  }
}

/** Finds stop strings in the generated text, also across tokens, and says how much text is safe to emit. */
export class StopMatcher {
  private text = '';
  private emitted = 0;

  constructor(private readonly stops: readonly string[]) {}

  /** Adds generated text; returns the text now safe to emit, and whether a stop string was reached. */
  push(chunk: string): { text: string; stopped: boolean } {
    if (this.stops.length === 0) return { text: chunk, stopped: false };
    const from = this.emitted;
    this.text += chunk;
    let stopAt = -1;
    for (const stop of this.stops) {
      const at = this.text.indexOf(stop, from);
      if (at >= 0 && (stopAt < 0 || at < stopAt)) stopAt = at;
    }
    if (stopAt >= 0) {
      this.text = this.text.slice(0, stopAt);
      return { text: this.take(stopAt), stopped: true };
    }
    return { text: this.take(this.text.length - this.heldBack()), stopped: false };
  }

  /** The text held back as a possible stop start, at the end of generation. */
  flush(): string {
    return this.take(this.text.length);
  }

  /** The longest tail of the unemitted text that begins some stop string. */
  private heldBack(): number {
    let held = 0;
    const tail = this.text.length - this.emitted;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, tail); n > held; n--) {
        if (this.text.endsWith(stop.slice(0, n))) {
          held = n;
          break;
        }
      }
    }
    return held;
  }

  private take(end: number): string {
    const out = this.text.slice(this.emitted, end);
    this.emitted = end;
    return out;
  }
}
