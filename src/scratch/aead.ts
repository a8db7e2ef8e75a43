import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

// File format: 12-byte IV | AES-256-GCM ciphertext | 16-byte tag. One IV per file under a per-vault key.
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;
export const CIPHERTEXT_OVERHEAD = IV_BYTES + TAG_BYTES;

const freshIv = (): Buffer => randomFillSync(Buffer.alloc(IV_BYTES));

/** Seals one plaintext: a sealed file as its parts, to write in order (as they are, saving a copy of the ciphertext). */
export type Sealer = (plaintext: Uint8Array) => Buffer[];

/** The cipher is made here, so that a caller holding a copy of the key may zero it before the plaintext exists. */
export function sealer(key: Uint8Array): Sealer {
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  return (plaintext) => [iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()];
}

export const seal = (key: Uint8Array, plaintext: Uint8Array): Buffer[] => sealer(key)(plaintext);

export function open(key: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < CIPHERTEXT_OVERHEAD) throw new Error('sealed scratch file is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}

/**
 * Encrypts a stream as it passes (uploads never touch disk in plaintext) and fails it once more than
 * `limitBytes` of plaintext went through.
 */
export class SealingStream extends Transform {
  private readonly cipher;
  private plaintextBytes = 0;
  constructor(
    key: Buffer,
    private readonly limitBytes: number,
    private readonly onLimit: () => Error,
  ) {
    super();
    const iv = freshIv();
    this.cipher = createCipheriv('aes-256-gcm', key, iv);
    this.push(iv);
  }
  get bytesIn(): number {
    return this.plaintextBytes;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.plaintextBytes += chunk.length;
    if (this.plaintextBytes > this.limitBytes) return done(this.onLimit());
    done(null, this.cipher.update(chunk));
  }
  override _flush(done: TransformCallback): void {
    this.push(this.cipher.final());
    done(null, this.cipher.getAuthTag());
  }
}
