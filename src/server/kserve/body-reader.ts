import { Readable } from 'node:stream';

/** The body ended (the client went away) before the bytes its headers announced. */
export class BodyEndedEarly extends Error {
  constructor() {
    super('the request body ended early');
  }
}

/**
 * Reads a request body as consecutive pieces of known sizes: the JSON header whole, then each binary tensor as a
 * stream of its own, so that a tensor passes through in the socket's chunks and is never held whole in plaintext.
 */
export class BodyReader {
  private readonly chunks: AsyncIterator<Buffer>;
  /** the part of the last chunk that belongs to the next piece */
  private rest: Buffer | null = null;

  constructor(source: Readable) {
    this.chunks = source[Symbol.asyncIterator]();
  }

  /** The next `bytes` bytes in one buffer. */
  async take(bytes: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.pieces(bytes)) parts.push(part);
    return Buffer.concat(parts, bytes);
  }

  /** The next `bytes` bytes as a stream; it fails with BodyEndedEarly if the body ends first. Read it to its end before the next piece. */
  stream(bytes: number): Readable {
    return Readable.from(this.pieces(bytes), { objectMode: false });
  }

  private async *pieces(bytes: number): AsyncGenerator<Buffer> {
    let left = bytes;
    while (left > 0) {
      const chunk = await this.nextChunk();
      if (chunk.length > left) {
        this.rest = chunk.subarray(left);
        yield chunk.subarray(0, left);
        return;
      }
      left -= chunk.length;
      yield chunk;
    }
  }

  private async nextChunk(): Promise<Buffer> {
    const kept = this.rest;
    if (kept) {
      this.rest = null;
      return kept;
    }
    // a client that goes away mid-body fails the socket's stream: for the reader, the body ended early all the same
    const next = await this.chunks.next().catch(() => ({ done: true as const, value: undefined }));
    if (next.done) throw new BodyEndedEarly();
    return next.value;
  }
}
