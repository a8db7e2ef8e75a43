import type { SealTarget } from '../scratch/sealed-file.js';
import type { ErrorCode } from '../server/errors.js';

/** Formats a client may upload and that the pipelines may write. */
export const ACCEPTED_IMAGE_FORMATS = ['png', 'jpeg', 'webp'] as const;
export type ImageFormat = (typeof ACCEPTED_IMAGE_FORMATS)[number];

/**
 * zlib level 4 (ComfyUI's choice) instead of libvips' 6: on photographs the file is the same size to within
 * 0.1% (1.5% on flat screenshots) and the encode takes 30% less time. Outputs are downloaded once and erased,
 * so the job's latency matters more than their last bytes (docs/image.md, "Outputs, events and metrics").
 */
export const PNG_COMPRESSION_LEVEL = 4;

/** workerData of the pool's workers */
export interface MediaWorkerInit {
  nice: number;
}

export interface RgbImage {
  /** RGB, 8 bits a channel, height × width × 3 (HWC) */
  data: Uint8Array;
  width: number;
  height: number;
}

export interface DecodeTask {
  bytes: Uint8Array;
  field: string;
  maxInputBytes: number;
  maxPixels: number;
  resize?: { width: number; height: number };
}

export interface EncodeTask {
  rgb: Uint8Array;
  width: number;
  height: number;
  format: ImageFormat;
  quality?: number;
}

export interface SealedEncodeTask extends EncodeTask {
  sealTo: SealTarget;
}

export interface PlanarToRgbTask {
  /** channels × height × width, values in [-1, 1] (what a VAE decoder writes) */
  planar: Float32Array;
  width: number;
  height: number;
}

export interface RgbToPlanarTask {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/**
 * A refusal made in a worker. Errors are structured-cloned across threads as plain `Error`s (class and
 * extra fields are lost), so the worker returns refusals as values and the pool rethrows them as ApiError.
 */
export interface MediaRefusal {
  code: Extract<ErrorCode, 'unsupported_media_type' | 'payload_too_large' | 'invalid_input'>;
  message: string;
  field: string;
}

export type WorkerReply<T> = { ok: true; value: T } | { ok: false; refusal: MediaRefusal };
