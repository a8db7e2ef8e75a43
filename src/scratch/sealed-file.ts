// Sealing a vault file on another thread. The media pool encodes an output and seals it in the same worker, so the
// encoded bytes never cross to the main thread: no copy, no transfer, and no ciphertext allocated and collected on
// the thread that serves HTTP (its garbage collections are what /healthz's p99 waits on).
import { secureZero } from '../native/secure-memory.js';
import { sealer, type Sealer } from './aead.js';
import { writeFileAtOnce } from './scratch-files.js';

/**
 * Where to seal one vault file: its path and a copy of the vault's key, in a buffer of its own that moves with the
 * task (transferred, never serialized) and is zeroed as soon as a cipher holds it.
 */
export interface SealTarget {
  file: string;
  key: Uint8Array;
}

export interface SealedSizes {
  /** plaintext */
  bytes: number;
  /** on disk: IV, ciphertext and tag */
  sealedBytes: number;
}

/** Writes one sealed file, blocking the calling thread: for workers, whose blocking stalls no event loop anyone waits on. */
export class SealedFileWriter {
  private readonly seal: Sealer;

  /** Zeroes `target.key` before returning. */
  constructor(private readonly target: SealTarget) {
    try {
      this.seal = sealer(target.key);
    } finally {
      secureZero(target.key);
    }
  }

  write(plaintext: Uint8Array): SealedSizes {
    const parts = this.seal(plaintext);
    writeFileAtOnce(this.target.file, parts);
    return { bytes: plaintext.byteLength, sealedBytes: parts.reduce((n, part) => n + part.byteLength, 0) };
  }
}
