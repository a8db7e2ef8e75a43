// The executor: one worker thread per device. It owns the device's ONNX Runtime sessions, so a model run
// (synchronous inside onnxruntime-node) never blocks the main thread's HTTP, SSE or metrics.
import './worker-priority.js';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { JobCanceledError, PipelineError, type ExecutorModel, type RunContext } from '../pipelines/executor-types.js';
import type { ExecutorInit, FromExecutor, RunTimings, ToExecutor } from './executor-protocol.js';
import { MODEL_LOADERS } from './model-loaders.js';
import { createSessionFactory } from './session-factory.js';
import { EventCoalescer } from './event-coalescer.js';

const port = parentPort!;
const { device } = workerData as ExecutorInit;
const sessions = createSessionFactory(device);
const models = new Map<string, ExecutorModel>();
const cancelled = new Set<string>();

// Token and progress events are coalesced (./event-coalescer.ts); a run's first event, and a message that ends a
// run, a load or an unload, go out at the end of the current task: the main thread waits on them.
const coalescer = new EventCoalescer<FromExecutor>({
  send: (batch, transfer) => port.postMessage(batch, transfer),
  now: () => performance.now(),
  schedule: (flush, delayMs) => void (delayMs > 0 ? setTimeout(flush, delayMs) : setImmediate(flush)),
  // after the microtasks that end the other sequences of the same step, before the next step's run
  soon: (flush) => process.nextTick(flush),
});

async function load(spec: Extract<ToExecutor, { kind: 'load' }>['spec']): Promise<void> {
  const started = performance.now();
  try {
    const loader = await MODEL_LOADERS[spec.type]();
    const model = await loader(spec, sessions);
    await model.warmUp();
    const previous = models.get(spec.name);
    models.set(spec.name, model);
    await previous?.dispose();
    coalescer.postNow({ kind: 'loaded', name: spec.name, metadata: model.metadata, seconds: (performance.now() - started) / 1000 });
  } catch (err) {
    coalescer.postNow({ kind: 'load_failed', name: spec.name, message: err instanceof Error ? err.message : String(err) });
  }
}

async function unload(name: string): Promise<void> {
  const model = models.get(name);
  models.delete(name);
  await model?.dispose();
  coalescer.postNow({ kind: 'unloaded', name });
}

async function run(jobId: string, modelName: string, payload: unknown): Promise<void> {
  const runs: RunTimings = [];
  const ctx: RunContext = {
    jobId,
    cancelled: () => cancelled.has(jobId),
    throwIfCancelled: () => {
      if (cancelled.has(jobId)) throw new JobCanceledError();
    },
    emit: (event) => coalescer.post({ kind: 'event', jobId, event }, [], jobId),
    observeRun: (graph, seconds) => void runs.push([graph, seconds]),
    observeBatch: (size) => coalescer.post({ kind: 'batch', model: modelName, size }),
  };
  try {
    const model = models.get(modelName);
    if (!model) throw new PipelineError('model_not_found', `model ${modelName} is not loaded on ${device.id}`);
    ctx.throwIfCancelled();
    const outcome = await model.run(payload, ctx);
    coalescer.postNow({ kind: 'done', jobId, result: outcome.result, runs }, outcome.transfer, jobId);
    // queued after the post above, so it runs once the result has left
    if (outcome.release) process.nextTick(outcome.release);
  } catch (err) {
    const canceled = err instanceof JobCanceledError || cancelled.has(jobId);
    const code = err instanceof PipelineError ? err.code : canceled ? 'canceled' : 'model_error';
    // Only PipelineError messages are written for clients; anything else may quote internals.
    const message = err instanceof PipelineError ? err.message : canceled ? 'job canceled' : 'the model failed while running this job';
    const detail = err instanceof PipelineError || canceled ? undefined : err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const field = err instanceof PipelineError ? err.field : undefined;
    coalescer.postNow({ kind: 'failed', jobId, code, message, canceled, runs, ...(field ? { field } : {}), ...(detail ? { detail } : {}) }, [], jobId);
  } finally {
    cancelled.delete(jobId);
  }
}

port.on('message', (message: ToExecutor) => {
  switch (message.kind) {
    case 'load':
      void load(message.spec);
      break;
    case 'unload':
      void unload(message.name);
      break;
    case 'run':
      void run(message.jobId, message.model, message.payload);
      break;
    case 'cancel':
      cancelled.add(message.jobId);
      break;
  }
});

coalescer.postNow({ kind: 'started' });
