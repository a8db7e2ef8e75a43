import type { InferenceSession } from 'onnxruntime-node';
import type { DeviceSpec, ModelMetadata, ModelSpec } from '../runtime/model-types.js';
import type { PipelineEvent } from '../jobs/types.js';

/** Thrown by a pipeline step loop when it notices its job was canceled (or timed out) between steps. */
export class JobCanceledError extends Error {
  constructor() {
    super('job canceled');
    this.name = 'JobCanceledError';
  }
}

/** What a PipelineError may carry beside its message. */
export interface PipelineErrorFacts {
  /** the job input field at fault, as a refusal names it (`input.messages`) */
  field?: string;
  /** for the node's log only (ffmpeg's stderr tail); like the message, it must hold no user content */
  detail?: string;
}

/** A pipeline failure whose message is safe to show to the client (no user content in it). */
export class PipelineError extends Error {
  readonly field: string | undefined;
  readonly detail: string | undefined;
  constructor(
    readonly code: string,
    message: string,
    facts: PipelineErrorFacts = {},
  ) {
    super(message);
    this.name = 'PipelineError';
    this.field = facts.field;
    this.detail = facts.detail;
  }
}

/** What a step loop sees of its job, inside the executor worker. */
export interface RunContext {
  readonly jobId: string;
  /** true once the job was canceled or timed out; check between model steps */
  cancelled(): boolean;
  /** throws JobCanceledError when cancelled() */
  throwIfCancelled(): void;
  emit(event: PipelineEvent): void;
  /** records one ONNX Runtime run, for infernode_model_run_seconds{graph} */
  observeRun(graph: string, seconds: number): void;
  /** records the size of one batched step (chat), for infernode_llm_batch_size */
  observeBatch(size: number): void;
}

export interface ExecOutcome<R = unknown> {
  result: R;
  /** ArrayBuffers inside result to transfer (not copy) to the main thread */
  transfer?: ArrayBuffer[];
  /** zeroes what the run no longer needs, once its result is on its way: off the job's latency */
  release?: () => void;
}

/** A model loaded in an executor: owns its sessions. */
export interface ExecutorModel<P = unknown, R = unknown> {
  readonly metadata: ModelMetadata;
  /** May be called concurrently (up to the device's concurrency for the type): chat batches concurrent runs. */
  run(payload: P, ctx: RunContext): Promise<ExecOutcome<R>>;
  /** one representative run right after loading, so the first job does not pay for lazy initialisation */
  warmUp(): Promise<void>;
  dispose(): Promise<void>;
}

/** Creates sessions on the executor's device with its execution provider and options. */
export interface SessionFactory {
  readonly device: DeviceSpec;
  /** `graph` names the session for metrics (unet, text_encoder, model, ...) */
  create(path: string): Promise<InferenceSession>;
}

export type ExecutorModelLoader = (spec: ModelSpec, sessions: SessionFactory) => Promise<ExecutorModel>;
