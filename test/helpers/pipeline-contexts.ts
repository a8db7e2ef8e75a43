// The contexts the job service gives a job handler (and, through `execute`, its executor model), built
// in-process for handler-level tests: uploads live in a map, and what the job does goes to a recorder.
import type { PipelineEvent } from '../../src/jobs/types.js';
import type { MediaPool } from '../../src/media/pool.js';
import { JobCanceledError, type ExecutorModel, type RunContext } from '../../src/pipelines/executor-types.js';
import type { AdmissionContext, JobContext, ModelView } from '../../src/pipelines/job-handler.js';

export interface ContextRecorder {
  emit(event: PipelineEvent): void;
  observeRun(graph: string, seconds: number): void;
  writeOutput(name: string, contentType: string, data: Buffer): void;
  reportSeed?(seed: number): void;
  recordFramesEncoded?(codec: string, frames: number): void;
}

export interface PipelineContexts {
  controller: AbortController;
  context: JobContext;
  /** seals into the same uploads the run reads, as the input vault does */
  admission: AdmissionContext;
}

export function pipelineContexts(model: ModelView, media: MediaPool, executorModel: ExecutorModel, given: Record<string, Buffer>, recorder: ContextRecorder): PipelineContexts {
  const uploads = { ...given };
  const controller = new AbortController();
  const runContext: RunContext = {
    jobId: 'job_test',
    cancelled: () => controller.signal.aborted,
    throwIfCancelled() {
      if (controller.signal.aborted) throw new JobCanceledError();
    },
    emit: (event) => recorder.emit(event),
    observeRun: (graph, seconds) => recorder.observeRun(graph, seconds),
    observeBatch() {},
  };
  const readUpload = async (part: string): Promise<Buffer> => Buffer.from(uploads[part]!);
  const context: JobContext = {
    jobId: 'job_test',
    model,
    signal: controller.signal,
    media,
    execute: async <R>(payload: unknown) => (await executorModel.run(payload, runContext)).result as R,
    readUpload,
    writeOutput: async (name, contentType, data) => recorder.writeOutput(name, contentType, Buffer.from(data)),
    emit: (event) => recorder.emit(event),
    reportSeed: (seed) => recorder.reportSeed?.(seed),
    recordFramesEncoded: (codec, frames) => recorder.recordFramesEncoded?.(codec, frames),
  };
  const admission: AdmissionContext = {
    media,
    readUpload,
    writeInput: async (name, data) => void (uploads[name] = Buffer.from(data)),
  };
  return { controller, context, admission };
}
