import type { JobType, PipelineEvent } from '../jobs/types.js';
import type { ModelSpec, ModelMetadata } from '../runtime/model-types.js';
import type { MediaPool } from '../media/pool.js';
import type { SealTarget, SealedSizes } from '../scratch/sealed-file.js';

/** A model as the main thread sees it when validating and running a job. */
export interface ModelView {
  readonly spec: ModelSpec;
  readonly metadata: ModelMetadata;
}

/** The files of a multipart job, streamed (encrypted) into the job's scratch directory. */
export interface UploadSet {
  has(part: string): boolean;
  size(part: string): number;
}

/** Node-wide limits from the command line (the model's infernode.json limits are in its spec). */
export interface NodeLimits {
  uploadLimitBytes: number;
  bodyLimitBytes: number;
}

export interface ParseContext {
  readonly model: ModelView;
  readonly uploads: UploadSet;
  readonly limits: NodeLimits;
}

/** What a job's main-thread orchestration may do while it runs. */
export interface JobContext {
  readonly jobId: string;
  readonly model: ModelView;
  /** aborts on cancel, timeout and shutdown */
  readonly signal: AbortSignal;
  readonly media: MediaPool;
  /** runs the payload on the model in the job's device executor; progress/token events become job events */
  execute<R>(payload: unknown, transfer?: ArrayBuffer[]): Promise<R>;
  /** decrypts an uploaded part from scratch */
  readUpload(part: string): Promise<Buffer>;
  /** encrypts an output into scratch; it becomes downloadable at /v1/jobs/{id}/outputs/{name} */
  writeOutput(name: string, contentType: string, data: Uint8Array): Promise<void>;
  /** as writeOutput, for an output that another thread seals into `target` (`MediaPool.encodeImageSealed`) */
  sealOutput(name: string, contentType: string, produce: (target: SealTarget) => Promise<SealedSizes>): Promise<void>;
  emit(event: PipelineEvent): void;
  /** the seed the job used, reported in the job object */
  reportSeed(seed: number): void;
  /** counts encoded video frames, for infernode_video_frames_encoded_total{codec} */
  recordFramesEncoded(codec: string, frames: number): void;
}

/** What a job type may use at submission, before the job is queued. */
export interface AdmissionContext {
  readonly media: MediaPool;
  /** decrypts an uploaded part from scratch */
  readUpload(part: string): Promise<Buffer>;
  /** seals bytes into the job's input vault; the run reads them back with readUpload(name) */
  writeInput(name: string, data: Uint8Array): Promise<void>;
}

/** Main-thread face of a job type: validation, then orchestration of executor, media pool and ffmpeg. */
export interface JobHandler<Input = unknown> {
  readonly type: JobType;
  /** Validates and normalises `input`; throws ApiError (4xx) naming the field. Must not touch the model. */
  parse(input: unknown, ctx: ParseContext): Input;
  /**
   * Checks that need the media pool or the uploads (an init image that is truncated or a decompression bomb),
   * so that they are a 4xx at submission rather than a failed job; throws ApiError. Runs off the main
   * thread's hot path only for the job types that have one.
   */
  admit?(input: Input, ctx: AdmissionContext): Promise<Input>;
  /** Runs the job; returns the job's `result` (small, structured) or null. */
  run(input: Input, ctx: JobContext): Promise<unknown>;
  /**
   * A canceled run still resolves, with what it made so far (chat: the text streamed, finish_reason `cancel`),
   * and the canceled job keeps that as its result. Runs of other handlers reject on cancel.
   */
  readonly resultOnCancel?: boolean;
}
