import type { JobType } from '../jobs/types.js';

export type ModelType = JobType;
export type ModelStatus = 'loaded' | 'loading' | 'unloaded' | 'failed';

export type DeviceKind = 'cpu' | 'cuda';
export interface DeviceSpec {
  /** "cpu" or "cuda:N" */
  id: string;
  kind: DeviceKind;
  index: number;
}

/** infernode.json: what cannot be detected from an export. Every field optional. */
export interface ModelManifest {
  type?: ModelType;
  device?: string;
  preload?: boolean;
  /** type-specific limits, e.g. chat {max_batch, max_cached_tokens, max_tokens}, image {max_pixels, max_steps, max_n} */
  limits?: Record<string, number>;
  /** type-specific defaults, e.g. image {width, height, steps, guidance_scale} */
  defaults?: Record<string, unknown>;
  [key: string]: unknown;
}

/** What the main thread knows of a model directory before loading it. */
export interface ModelSpec {
  name: string;
  type: ModelType;
  dir: string;
  manifest: ModelManifest;
}

export interface TensorDescriptor {
  name: string;
  /** KServe v2 datatype: FP32, FP16, INT64, INT32, UINT8, BOOL, ... */
  datatype: string;
  /** -1 for a free dimension */
  shape: number[];
}

/**
 * What a loaded model tells the main thread, as plain JSON (it crosses threads).
 * `inputs`/`outputs` describe the primary graph (KServe metadata); `info` holds what the type's
 * input validation needs (context length, default sizes, limits...).
 */
export interface ModelMetadata {
  inputs: TensorDescriptor[];
  outputs: TensorDescriptor[];
  info: Record<string, unknown>;
}
