import { Worker } from 'node:worker_threads';
import { EventEmitter } from 'node:events';
import type { PipelineEvent } from '../jobs/types.js';
import type { ExecutorInit, FromExecutor, RunTimings, ToExecutor } from './executor-protocol.js';
import type { DeviceSpec, ModelMetadata, ModelSpec } from './model-types.js';

const WORKER_URL = new URL('./executor-worker.js', import.meta.url);

export class ExecutionFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly canceled: boolean,
    readonly detail?: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ExecutionFailed';
  }
}

interface PendingRun {
  resolve(result: unknown): void;
  reject(err: ExecutionFailed): void;
  onEvent(event: PipelineEvent): void;
}

interface PendingLoad {
  resolve(metadata: { metadata: ModelMetadata; seconds: number }): void;
  reject(err: Error): void;
}

export interface ExecutorEvents {
  runs: (model: string, runs: RunTimings) => void;
  batch: (model: string, size: number) => void;
  crashed: (err: Error) => void;
}

/** Main-thread handle of one device's executor worker. */
export class Executor extends EventEmitter {
  private worker: Worker;
  private readonly runs = new Map<string, PendingRun & { model: string }>();
  private readonly loads = new Map<string, PendingLoad>();
  private readonly unloads = new Map<string, () => void>();
  private closing = false;
  /** terminating a worker while it loads onnxruntime's binding aborts the process, so close waits for this */
  private started = false;

  constructor(
    readonly device: DeviceSpec,
    private readonly nice = 0,
  ) {
    super();
    this.worker = this.spawn();
  }

  get running(): number {
    return this.runs.size;
  }

  load(spec: ModelSpec): Promise<{ metadata: ModelMetadata; seconds: number }> {
    return new Promise((resolve, reject) => {
      this.loads.set(spec.name, { resolve, reject });
      this.send({ kind: 'load', spec });
    });
  }

  unload(name: string): Promise<void> {
    return new Promise((resolve) => {
      this.unloads.set(name, resolve);
      this.send({ kind: 'unload', name });
    });
  }

  run<R>(jobId: string, model: string, payload: unknown, onEvent: (e: PipelineEvent) => void, transfer: ArrayBuffer[] = []): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.runs.set(jobId, { model, resolve: resolve as (r: unknown) => void, reject, onEvent });
      this.worker.postMessage({ kind: 'run', jobId, model, payload } satisfies ToExecutor, transfer);
    });
  }

  cancel(jobId: string): void {
    if (this.runs.has(jobId)) this.send({ kind: 'cancel', jobId });
  }

  /**
   * Stops the worker once its in-flight runs and model loads have ended (canceled runs stop at their next step), or
   * after `graceMs`: terminating a worker inside an onnxruntime run or session creation aborts the whole process.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    const deadline = Date.now() + graceMs;
    while ((!this.started || this.runs.size > 0 || this.loads.size > 0 || this.unloads.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.worker.terminate();
  }

  private send(message: ToExecutor): void {
    this.worker.postMessage(message);
  }

  private spawn(): Worker {
    this.started = false;
    const worker = new Worker(WORKER_URL, { workerData: { device: this.device, nice: this.nice } satisfies ExecutorInit });
    worker.on('message', (batch: FromExecutor[]) => {
      for (const m of batch) this.receive(m);
    });
    worker.on('error', (err) => this.crashed(err));
    worker.on('exit', (code) => {
      if (!this.closing) this.crashed(new Error(`executor ${this.device.id} exited with code ${code}`));
    });
    return worker;
  }

  /** Fails what was in flight; the registry reloads the models on the fresh worker. */
  private crashed(err: Error): void {
    if (this.closing) return;
    for (const [jobId, run] of this.runs) {
      this.runs.delete(jobId);
      run.reject(new ExecutionFailed('executor_crashed', 'the device executor stopped while running this job', false, err.message));
    }
    for (const [name, load] of this.loads) {
      this.loads.delete(name);
      load.reject(new Error(`executor crashed while loading: ${err.message}`));
    }
    void this.worker.terminate();
    this.worker = this.spawn();
    this.emit('crashed', err);
  }

  private receive(m: FromExecutor): void {
    switch (m.kind) {
      case 'started':
        this.started = true;
        return;
      case 'loaded':
        this.loads.get(m.name)?.resolve({ metadata: m.metadata, seconds: m.seconds });
        this.loads.delete(m.name);
        return;
      case 'load_failed':
        this.loads.get(m.name)?.reject(new Error(m.message));
        this.loads.delete(m.name);
        return;
      case 'unloaded':
        this.unloads.get(m.name)?.();
        this.unloads.delete(m.name);
        return;
      case 'event':
        this.runs.get(m.jobId)?.onEvent(m.event);
        return;
      case 'batch':
        this.emit('batch', m.model, m.size);
        return;
      case 'done':
      case 'failed': {
        const run = this.runs.get(m.jobId);
        if (!run) return;
        this.runs.delete(m.jobId);
        if (m.runs.length) this.emit('runs', run.model, m.runs);
        if (m.kind === 'done') run.resolve(m.result);
        else run.reject(new ExecutionFailed(m.code, m.message, m.canceled, m.detail, m.field));
        return;
      }
    }
  }
}
