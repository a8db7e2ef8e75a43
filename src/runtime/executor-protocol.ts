import type { PipelineEvent } from '../jobs/types.js';
import type { DeviceSpec, ModelMetadata, ModelSpec } from './model-types.js';

export interface ExecutorInit {
  device: DeviceSpec;
  /** the worker lowers itself to this nice value first (src/runtime/thread-priority.ts) */
  nice: number;
}

export type ToExecutor =
  | { kind: 'load'; spec: ModelSpec }
  | { kind: 'unload'; name: string }
  | { kind: 'run'; jobId: string; model: string; payload: unknown }
  | { kind: 'cancel'; jobId: string };

/** [graph, seconds] of each ONNX Runtime run, reported with the job's end */
export type RunTimings = Array<[string, number]>;

export type FromExecutor =
  /** the worker has loaded its modules (onnxruntime's binding among them) */
  | { kind: 'started' }
  | { kind: 'loaded'; name: string; metadata: ModelMetadata; seconds: number }
  | { kind: 'load_failed'; name: string; message: string }
  | { kind: 'unloaded'; name: string }
  | { kind: 'event'; jobId: string; event: PipelineEvent }
  | { kind: 'batch'; model: string; size: number }
  | { kind: 'done'; jobId: string; result: unknown; runs: RunTimings }
  | {
      kind: 'failed';
      jobId: string;
      code: string;
      /** safe for clients */
      message: string;
      /** the input field at fault (PipelineError's) */
      field?: string;
      /** for the operator's log only; never shown to clients */
      detail?: string;
      canceled: boolean;
      runs: RunTimings;
    };
