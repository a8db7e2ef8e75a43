import { createWriteStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SealingStream, open, seal } from './aead.js';
import { secureZero } from '../native/secure-memory.js';
import type { KeyPool } from './key-pool.js';
import type { ScratchFiles } from './scratch-files.js';
import type { SealTarget, SealedSizes } from './sealed-file.js';

export interface VaultEntry {
  readonly contentType: string;
  /** plaintext size */
  readonly bytes: number;
}

interface StoredEntry extends VaultEntry {
  readonly file: string;
  readonly sealedBytes: number;
}

/** `writeStream`'s source was destroyed before its bytes could be stored (an upload cut short, say). */
export class SourceClosedEarly extends Error {
  constructor(readonly reason: Error | null) {
    super('the source stream was destroyed before it was stored');
  }
}

/** The entry's file is no longer on disk: something outside this process removed it. */
export class ScratchFileGone extends Error {
  constructor() {
    super('the scratch file is gone from disk');
    this.name = 'ScratchFileGone';
  }
}

/** Bytes on disk changed by `delta` (positive on write, negative on erase). */
export type UsageListener = (delta: number) => void;

/**
 * A set of encrypted files under one key that lives only in this object. Files get opaque names, so no
 * user-chosen name reaches the disk either. Erasing zeroes the key first (crypto-erase), then unlinks.
 */
export class Vault {
  /** drawn at the first write: most jobs never write to scratch */
  private key: Buffer | null = null;
  private readonly entries = new Map<string, StoredEntry>();
  private dirReady: Promise<void> | null = null;
  private fileCount = 0;
  private erased = false;

  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    private readonly onUsage: UsageListener,
    private readonly keys: KeyPool,
    private readonly files: ScratchFiles,
  ) {}

  has(name: string): boolean {
    return this.entries.has(name);
  }
  get(name: string): VaultEntry | undefined {
    return this.entries.get(name);
  }
  names(): string[] {
    return [...this.entries.keys()];
  }
  /** whether it ever created its directory (most jobs, chat among them, never write to scratch) */
  get touchedDisk(): boolean {
    return this.dirReady !== null;
  }

  async write(name: string, contentType: string, data: Uint8Array): Promise<void> {
    const { file, key } = await this.allocate(name);
    const sealed = seal(key, data);
    await this.files.write(file, sealed);
    this.remember(name, { file, contentType, bytes: data.length, sealedBytes: sealed.reduce((n, part) => n + part.length, 0) });
  }

  /**
   * Stores a file that another thread seals: `produce` gets the file and a copy of the key (zeroed here if it never
   * left this thread) and returns the sizes it wrote.
   */
  async writeVia(name: string, contentType: string, produce: (target: SealTarget) => Promise<SealedSizes>): Promise<SealedSizes> {
    const { file, key } = await this.allocate(name);
    const target: SealTarget = { file, key: new Uint8Array(key) };
    try {
      const sizes = await produce(target);
      this.remember(name, { file, contentType, ...sizes });
      return sizes;
    } catch (err) {
      await this.files.remove(file);
      throw err;
    } finally {
      // a no-op once transferred to a worker (detached)
      secureZero(target.key);
    }
  }

  /** Streams `source` through AES-GCM into the vault; rejects with `onLimit()` past `limitBytes`. */
  async writeStream(name: string, contentType: string, source: Readable, limitBytes: number, onLimit: () => Error): Promise<number> {
    const { file, key } = await this.allocate(name);
    // Node's pipeline waits forever for the 'end' of a source that was destroyed after it had pushed its end
    // (busboy's parts, when the client goes away): the file would stay open and on disk. A source destroyed
    // already, or closed before its end, fails the write instead.
    if (source.destroyed) throw new SourceClosedEarly(source.errored);
    const sealing = new SealingStream(key, limitBytes, onLimit);
    const onSourceClose = (): void => {
      if (!source.readableEnded) sealing.destroy(new SourceClosedEarly(source.errored));
    };
    source.once('close', onSourceClose);
    const sink = createWriteStream(file, { mode: 0o600 });
    // The sink opens its file on libuv's pool and a refusal can come first: removed before that open, the file
    // would be created after its removal. So a failed write waits for the sink to close.
    const closed = new Promise<void>((resolve) => sink.once('close', () => resolve()));
    let sealedBytes = 0;
    sealing.on('data', (chunk: Buffer) => (sealedBytes += chunk.length));
    try {
      await pipeline(source, sealing, sink);
    } catch (err) {
      await closed;
      await this.files.remove(file);
      throw err;
    } finally {
      source.off('close', onSourceClose);
    }
    this.remember(name, { file, contentType, bytes: sealing.bytesIn, sealedBytes });
    return sealing.bytesIn;
  }

  async read(name: string): Promise<Buffer> {
    const entry = this.entries.get(name);
    if (!entry || this.erased || !this.key) throw new Error('no such scratch entry');
    const sealed = await this.files.read(entry.file, entry.sealedBytes).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new ScratchFileGone() : err;
    });
    return open(this.key, sealed);
  }

  /** Returns whether it had anything to erase. */
  async erase(): Promise<boolean> {
    if (this.erased) return false;
    this.erased = true;
    if (this.key) this.keys.release(this.key);
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((e) => this.files.remove(e.file)));
    const freed = entries.reduce((sum, e) => sum + e.sealedBytes, 0);
    if (freed) this.onUsage(-freed);
    return entries.length > 0;
  }

  private async allocate(name: string): Promise<{ file: string; key: Buffer }> {
    if (this.erased) throw new Error('scratch vault already erased');
    if (this.entries.has(name)) throw new Error('scratch entry written twice');
    const key = (this.key ??= this.keys.acquire());
    // numbered before the first await: writes in flight together (a job's images) each get a file of their own
    const file = path.join(this.dir, `${this.prefix}-${this.fileCount++}.sealed`);
    this.dirReady ??= this.files.makeDir(this.dir);
    await this.dirReady;
    return { file, key };
  }

  private remember(name: string, entry: StoredEntry): void {
    if (this.erased) {
      // erased while the write was in flight (cancel during upload): do not leave the file behind
      void this.files.remove(entry.file);
      return;
    }
    this.entries.set(name, entry);
    this.onUsage(entry.sealedBytes);
  }
}
