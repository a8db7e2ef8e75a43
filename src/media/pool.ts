// sharp must be loaded by the main thread before any worker loads it: on glibc Linux its shared libraries
// would otherwise be unloaded with the first worker that exits (sharp's docs, "Worker threads").
import 'sharp';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { ApiError } from '../server/errors.js';
import type { SealTarget, SealedSizes } from '../scratch/sealed-file.js';
import type { DecodeTask, EncodeTask, ImageFormat, MediaWorkerInit, PlanarToRgbTask, RgbImage, RgbToPlanarTask, SealedEncodeTask, WorkerReply } from './media-protocol.js';

export type { ImageFormat, RgbImage } from './media-protocol.js';

export interface DecodeOptions {
  /** the input field the image came in, named in refusals */
  field: string;
  maxInputBytes: number;
  /** width × height allowed, checked from the image header before anything is decoded */
  maxPixels: number;
  /** cover the target size and crop the centre */
  resize?: { width: number; height: number };
  signal?: AbortSignal;
}

type Task = DecodeTask | EncodeTask | SealedEncodeTask | PlanarToRgbTask | RgbToPlanarTask;
type TaskName = 'decodeImage' | 'encodeImage' | 'encodeImageSealed' | 'planarToRgb' | 'rgbToPlanar';

/**
 * The media pool: image codecs and pixel conversions on worker threads, so the main thread only does I/O.
 * Pixel buffers come back transferred, not copied. Every call takes an AbortSignal: an aborted task leaves
 * the queue, or its worker is terminated.
 */
export class MediaPool {
  private readonly piscina: Piscina;
  /** the first worker has loaded its modules: terminating a worker while it loads sharp aborts the process */
  private readonly started: Promise<unknown>;

  /** `nice`: the workers lower themselves to it (src/runtime/thread-priority.ts) */
  constructor(options: { threads?: number; nice?: number } = {}) {
    const threads = options.threads ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    this.piscina = new Piscina({
      filename: new URL('./image-worker.js', import.meta.url).href,
      minThreads: 1,
      maxThreads: threads,
      idleTimeout: 30_000,
      workerData: { nice: options.nice ?? 0 } satisfies MediaWorkerInit,
    });
    this.started = this.piscina.run(null, { name: 'ready' }).catch(() => undefined);
  }

  /** Decodes a PNG, JPEG or WebP upload to RGB (HWC); refusals are ApiErrors naming `field`. */
  async decodeImage(bytes: Uint8Array, opts: DecodeOptions): Promise<RgbImage> {
    const { field, maxInputBytes, maxPixels, resize, signal } = opts;
    if (bytes.length > maxInputBytes) {
      throw new ApiError('payload_too_large', `The ${field} image is larger than the ${maxInputBytes} bytes allowed.`, field);
    }
    if (bytes.length === 0) throw new ApiError('unsupported_media_type', `The ${field} is empty, not an image.`, field);
    const copy = exactCopy(bytes);
    return this.call<RgbImage>('decodeImage', { bytes: copy, field, maxInputBytes, maxPixels, ...(resize ? { resize } : {}) }, [copy.buffer], signal);
  }

  /** Encodes RGB (HWC) pixels (a copy of them); `quality` (1–100) applies to jpeg and webp. */
  async encodeImage(rgb: Uint8Array, width: number, height: number, format: ImageFormat, quality?: number, signal?: AbortSignal): Promise<Buffer> {
    const pixels = exactCopy(rgb);
    const task: EncodeTask = { rgb: pixels, width, height, format, ...(quality === undefined ? {} : { quality }) };
    const bytes = await this.call<Uint8Array>('encodeImage', task, [pixels.buffer], signal);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /**
   * Encodes RGB (HWC) pixels as `encodeImage` does and seals the result into `target` in the same worker: the
   * encoded bytes never come back. Takes ownership of `rgb` (detached here, zeroed by the worker once encoded).
   */
  async encodeImageSealed(target: SealTarget, rgb: Uint8Array, width: number, height: number, format: ImageFormat, quality?: number, signal?: AbortSignal): Promise<SealedSizes> {
    const pixels = wholeBuffer(rgb);
    const task: SealedEncodeTask = { rgb: pixels, width, height, format, ...(quality === undefined ? {} : { quality }), sealTo: target };
    return this.call<SealedSizes>('encodeImageSealed', task, [pixels.buffer as ArrayBuffer, target.key.buffer as ArrayBuffer], signal);
  }

  /**
   * A VAE's planar output (3 × H × W, values in [-1, 1]) to RGB (HWC) bytes. Takes ownership of `planar`:
   * its buffer is transferred to the worker and detached here.
   */
  async planarToRgb(planar: Float32Array, width: number, height: number, signal?: AbortSignal): Promise<Uint8Array> {
    const owned = wholeBuffer(planar);
    return this.call<Uint8Array>('planarToRgb', { planar: owned, width, height }, [owned.buffer as ArrayBuffer], signal);
  }

  /** RGB (HWC) bytes to a VAE encoder's planar input (3 × H × W, values in [-1, 1]). */
  async rgbToPlanar(rgb: Uint8Array, width: number, height: number, signal?: AbortSignal): Promise<Float32Array> {
    const copy = exactCopy(rgb);
    return this.call<Float32Array>('rgbToPlanar', { rgb: copy, width, height }, [copy.buffer], signal);
  }

  async destroy(): Promise<void> {
    await this.started;
    await this.piscina.destroy();
  }

  private async call<T>(name: TaskName, task: Task, transferList: ArrayBuffer[], signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    const reply = (await this.piscina.run(task, { name, transferList, signal: signal ?? null })) as WorkerReply<T>;
    if (!reply.ok) throw new ApiError(reply.refusal.code, reply.refusal.message, reply.refusal.field);
    return reply.value;
  }
}

/**
 * The bytes of `view` in a buffer of their own, to transfer. Cloning a view would send its whole underlying
 * buffer (for a small Buffer, Node's shared 8 KiB slab, other data included) to the worker.
 */
function exactCopy(view: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(view);
}

/** A view over its whole buffer, copying only when `array` is a window into a larger one. */
function wholeBuffer<T extends Float32Array | Uint8Array>(array: T): T {
  return array.byteOffset === 0 && array.byteLength === array.buffer.byteLength ? array : (array.slice() as T);
}
