// The contexts the job service gives a job handler (and, through `execute`, its executor model), built
// in-process for handler-level tests: uploads live in a map, and what the job does goes to a recorder.
import type { PipelineEvent } from '../../src/jobs/types.js';
import { publishInCallOrder } from '../../src/jobs/output-order.js';
import { JobCanceledError, type ExecutorModel, type RunContext } from '../../src/pipelines/executor-types.js';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KEY_BYTES, open } from '../../src/scratch/aead.js';
import type { SealTarget, SealedSizes } from '../../src/scratch/sealed-file.js';
import { MediaPool } from '../../src/media/pool.js';
import type { ExecutorModelLoader } from '../../src/pipelines/executor-types.js';
import type { AdmissionContext, JobContext, ModelView, ParseContext } from '../../src/pipelines/job-handler.js';
import { detectModel } from '../../src/runtime/model-catalog.js';
import { createSessionFactory } from '../../src/runtime/session-factory.js';
import { fixtureModelsDir } from './fixtures.js';

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

/** Runs a sealing producer against a scratch file of its own and returns what it sealed, opened. */
async function unsealed(produce: (target: SealTarget) => Promise<SealedSizes>): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'infernode-sealed-'));
  const key = randomBytes(KEY_BYTES);
  try {
    const file = path.join(dir, 'out.sealed');
    await produce({ file, key: new Uint8Array(key) });
    return open(key, await readFile(file));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
  const inOrder = publishInCallOrder();
  const context: JobContext = {
    jobId: 'job_test',
    model,
    signal: controller.signal,
    media,
    execute: async <R>(payload: unknown) => {
      const outcome = await executorModel.run(payload, runContext);
      outcome.release?.();
      return outcome.result as R;
    },
    readUpload,
    // in call order, as the job service publishes them
    writeOutput: (name, contentType, data) => inOrder(Promise.resolve(Buffer.from(data)), (bytes) => recorder.writeOutput(name, contentType, bytes)),
    sealOutput: (name, contentType, produce) => inOrder(unsealed(produce), (bytes) => recorder.writeOutput(name, contentType, bytes)),
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

export interface LoadedPipeline {
  model: ModelView;
  executorModel: ExecutorModel;
  media: MediaPool;
  parseContext(uploads?: Record<string, Buffer>): ParseContext;
  close(): Promise<void>;
}

/** A fixture model loaded on the CPU with `loader`, a one-thread media pool, and parse contexts for it. */
export async function loadPipeline(fixtures: string[], name: string, loader: ExecutorModelLoader): Promise<LoadedPipeline> {
  const spec = await detectModel(path.join(await fixtureModelsDir(fixtures), name));
  const executorModel = await loader(spec, createSessionFactory({ id: 'cpu', kind: 'cpu', index: 0 }));
  const media = new MediaPool({ threads: 1 });
  const model: ModelView = { spec, metadata: executorModel.metadata };
  const limits = { uploadLimitBytes: 8 << 20, bodyLimitBytes: 8 << 20 };
  return {
    model,
    executorModel,
    media,
    parseContext: (uploads = {}) => ({ model, uploads: { has: (p) => p in uploads, size: (p) => uploads[p]?.length ?? 0 }, limits }),
    close: async () => {
      await executorModel.dispose();
      await media.destroy();
    },
  };
}
