import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/registry.js';
import type { MediaPool } from '../media/pool.js';
import type { JobContext, JobHandler, NodeLimits, UploadSet } from '../pipelines/job-handler.js';
import { ExecutionFailed, type Executor } from '../runtime/executor.js';
import type { ModelRegistry } from '../runtime/model-registry.js';
import type { JobScratch, ScratchStore } from '../scratch/scratch-store.js';
import { ApiError } from '../server/errors.js';
import { isAdmin, type Principal } from '../server/principal.js';
import { PipelineError } from '../pipelines/executor-types.js';
import { Job } from './job.js';
import { publishInCallOrder } from './output-order.js';
import { newJobId } from './job-id.js';
import { Scheduler } from './scheduler.js';
import type { SubmitRequest } from './submit-request.js';
import type { JobErrorView, JobStatus, JobType, JobView, PipelineEvent } from './types.js';

export interface WebhookSink {
  /** null when the URL may be used, else why not (a 400 on the `webhook` field) */
  check(url: string): string | null;
  deliver(url: string, job: JobView): void;
  /** stops pending retries at shutdown */
  close?(): void | Promise<void>;
}

export interface JobServiceDeps {
  registry: ModelRegistry;
  executors: Executor[];
  scratch: ScratchStore;
  media: MediaPool;
  metrics: Metrics;
  log: Logger;
  handlers: Partial<Record<JobType, JobHandler>>;
  webhooks: WebhookSink;
  limits: NodeLimits;
  queueSize: number;
  concurrency: Record<JobType, number>;
}

/** A job id and scratch made before the job exists, so a multipart upload can stream into it. */
export interface PreparedJob {
  id: string;
  scratch: JobScratch;
}

type Ending = { status: Extract<JobStatus, 'succeeded' | 'failed' | 'canceled'>; result?: unknown; error?: JobErrorView };

const OUTPUT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** how long cancel waits for a canceled run's result: a decode step, with room to spare for a slow device */
const CANCEL_RESULT_WAIT_MS = 2000;

function requireOutputName(name: string): void {
  if (!OUTPUT_NAME.test(name)) throw new Error('output names are chosen by pipelines from a safe alphabet');
}

/** A job's life: admission, run, end (erasure before the terminal event), outputs until their TTL. */
export class JobService {
  private readonly jobs = new Map<string, Job>();
  private readonly idempotency = new Map<string, Job>();
  private readonly scheduler: Scheduler;
  private readonly expiryTimers = new Map<Job, NodeJS.Timeout>();
  /** handler runs in flight, for the result a canceled one still brings */
  private readonly runs = new Map<Job, Promise<unknown>>();
  private readonly finishing = new Set<Job>();
  private draining = false;

  constructor(private readonly deps: JobServiceDeps) {
    this.scheduler = new Scheduler(deps.executors, deps.queueSize, deps.concurrency, deps.metrics, (job, executor) => this.start(job, executor));
  }

  get isDraining(): boolean {
    return this.draining;
  }
  get size(): number {
    return this.jobs.size;
  }

  prepare(): PreparedJob {
    const id = newJobId();
    return { id, scratch: this.deps.scratch.forJob(id) };
  }

  /**
   * Admits a job or throws its 4xx. `prepared` carries a multipart request's uploads; on any refusal its
   * scratch is erased here, so a refused request leaves nothing behind.
   */
  async submit(
    owner: Principal,
    request: SubmitRequest,
    options: { idempotencyKey?: string | null; prepared?: PreparedJob; uploads?: UploadSet; ephemeral?: boolean } = {},
  ): Promise<Job> {
    const idemKey = options.idempotencyKey ? `${owner.name}\n${options.idempotencyKey}` : null;
    const existing = idemKey ? this.idempotency.get(idemKey) : undefined;
    if (existing) {
      await options.prepared?.scratch.eraseAll('deleted');
      return existing;
    }
    const prepared = options.prepared ?? this.prepare();
    try {
      return await this.admit(owner, request, prepared, options.uploads ?? EMPTY_UPLOADS, idemKey, options.ephemeral ?? false);
    } catch (err) {
      await prepared.scratch.eraseAll('deleted');
      throw err;
    }
  }

  /** The job if `viewer` may see it; 404 otherwise (another token's job looks like no job). */
  get(id: string, viewer: Principal): Job {
    const job = this.jobs.get(id);
    if (!job || (job.options.owner !== viewer.name && !isAdmin(viewer))) throw new ApiError('not_found', 'no job with that id', 'id');
    return job;
  }

  list(viewer: Principal, filter: { status: JobStatus | undefined; type: JobType | undefined; limit: number }): Job[] {
    const out: Job[] = [];
    const all = [...this.jobs.values()];
    for (let i = all.length - 1; i >= 0 && out.length < filter.limit; i--) {
      const job = all[i]!;
      if (job.options.owner !== viewer.name && !isAdmin(viewer)) continue;
      if (filter.status && job.status !== filter.status) continue;
      if (filter.type && job.type !== filter.type) continue;
      out.push(job);
    }
    return out;
  }

  /** Cancels an active job now. */
  async cancel(job: Job, why: 'canceled' | 'timeout' | 'shutdown' = 'canceled'): Promise<void> {
    if (job.terminal) return;
    job.abort.abort(why);
    const wasQueued = this.scheduler.dequeue(job);
    if (!wasQueued && job.device) this.executorOf(job)?.cancel(job.id);
    const result = wasQueued ? undefined : await this.resultOnCancel(job);
    await this.finish(job, {
      ...(why === 'timeout'
        ? { status: 'failed', error: { code: 'timeout', message: `the job ran past its timeout_s of ${job.options.timeoutS}s` } }
        : { status: 'canceled', error: { code: why, message: why === 'shutdown' ? 'the node shut down before the job finished' : 'the job was canceled' } }),
      ...(result === undefined ? {} : { result }),
    });
  }

  /** What a canceled run of a handler that keeps one resolves with; nothing if it does not come in time. */
  private async resultOnCancel(job: Job): Promise<unknown> {
    const run = this.runs.get(job);
    if (!run || !this.deps.handlers[job.type]?.resultOnCancel) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), CANCEL_RESULT_WAIT_MS)));
    try {
      return await Promise.race([run.catch(() => undefined), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Erases an ended job's outputs and forgets it. */
  async forget(job: Job, reason: 'deleted' | 'expired' = 'deleted'): Promise<void> {
    clearTimeout(this.expiryTimers.get(job));
    this.expiryTimers.delete(job);
    this.jobs.delete(job.id);
    if (job.options.idempotencyKey) this.idempotency.delete(`${job.options.owner}\n${job.options.idempotencyKey}`);
    await job.scratch.eraseAll(reason);
  }

  async readOutput(job: Job, name: string): Promise<{ contentType: string; data: Buffer }> {
    const entry = OUTPUT_NAME.test(name) ? job.scratch.outputs.get(name) : undefined;
    if (!entry) throw new ApiError('not_found', 'no output of that name (it may have expired)', 'name');
    return { contentType: entry.contentType, data: await job.scratch.outputs.read(name) };
  }

  /** SIGTERM: refuse new jobs, let running ones finish up to `graceS`, cancel the rest, erase everything. */
  async drain(graceS: number): Promise<void> {
    this.draining = true;
    const active = [...this.jobs.values()].filter((j) => !j.terminal);
    for (const job of active) if (job.status === 'queued') await this.cancel(job, 'shutdown');
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceS * 1000).unref());
    await Promise.race([Promise.all(active.map((j) => j.whenEnded())), deadline]);
    await Promise.all(active.filter((j) => !j.terminal).map((j) => this.cancel(j, 'shutdown')));
    for (const timer of this.expiryTimers.values()) clearTimeout(timer);
    this.expiryTimers.clear();
    this.jobs.clear();
    await this.deps.scratch.eraseEverything('shutdown');
    await this.deps.webhooks.close?.();
  }

  private async admit(owner: Principal, request: SubmitRequest, prepared: PreparedJob, uploads: UploadSet, idemKey: string | null, ephemeral: boolean): Promise<Job> {
    const refuseWhileDraining = (): void => {
      if (this.draining) throw new ApiError('draining', 'the node is shutting down; submit to another node', undefined, 5);
    };
    refuseWhileDraining();
    const model = this.deps.registry.require(request.model, request.type);
    const handler = this.deps.handlers[request.type];
    if (!handler) throw new ApiError('invalid_request', `this node does not run ${request.type} jobs`, 'type');
    if (request.webhook) {
      const problem = this.deps.webhooks.check(request.webhook);
      if (problem) throw new ApiError('invalid_input', problem, 'webhook');
    }
    let input = handler.parse(request.input, { model: { spec: model.spec, metadata: model.metadata }, uploads, limits: this.deps.limits });
    if (handler.admit) {
      const vault = prepared.scratch.inputs;
      input = await handler.admit(input, {
        media: this.deps.media,
        readUpload: (part) => vault.read(part),
        writeInput: (name, data) => vault.write(name, 'application/octet-stream', data),
      });
      refuseWhileDraining();
    }
    const job = new Job(
      {
        id: prepared.id,
        type: request.type,
        model: request.model,
        owner: owner.name,
        priority: request.priority,
        timeoutS: request.timeoutS,
        outputTtlS: request.outputTtlS,
        webhook: request.webhook,
        idempotencyKey: idemKey ? idemKey.slice(owner.name.length + 1) : null,
        ephemeral,
      },
      input,
      prepared.scratch,
    );
    this.scheduler.submit(job, model.devices);
    this.jobs.set(job.id, job);
    if (idemKey) this.idempotency.set(idemKey, job);
    const timer = setTimeout(() => void this.cancel(job, 'timeout'), request.timeoutS * 1000);
    void job.whenEnded().then(() => clearTimeout(timer));
    this.deps.metrics.jobsSubmitted.inc({ type: job.type, model: job.options.model });
    job.events.append({ event: 'status', data: job.view() });
    return job;
  }

  private executorOf(job: Job): Executor | undefined {
    return this.deps.executors.find((e) => e.device.id === job.device);
  }

  private start(job: Job, executor: Executor): void {
    if (job.terminal) {
      this.scheduler.released(job, 0);
      return;
    }
    const queuedS = job.start();
    const labels = { type: job.type, model: job.options.model };
    this.deps.metrics.jobQueueSeconds.observe(labels, queuedS);
    job.events.append({ event: 'status', data: job.view() });
    const handler = this.deps.handlers[job.type]!;
    const began = performance.now();
    const run = handler.run(job.input, this.context(job, executor));
    this.runs.set(job, run);
    run
      .then(
        // after a cancel (or timeout, or shutdown), cancel() ends the job: the run's rejection is only its echo, and
        // what it resolved with is the canceled job's result
        (result) => (job.abort.signal.aborted ? undefined : this.finish(job, { status: 'succeeded', result })),
        (err: unknown) => (job.abort.signal.aborted ? undefined : this.finish(job, this.failure(job, err))),
      )
      .finally(() => {
        this.runs.delete(job);
        this.scheduler.released(job, (performance.now() - began) / 1000);
      });
  }

  private failure(job: Job, err: unknown): Ending {
    if (err instanceof ExecutionFailed && err.canceled) return { status: 'canceled', error: { code: 'canceled', message: 'the job was canceled' } };
    if (err instanceof ApiError || err instanceof ExecutionFailed || err instanceof PipelineError) {
      if (!(err instanceof ApiError) && err.detail) this.deps.log.warn({ jobId: job.id, detail: err.detail }, err instanceof ExecutionFailed ? 'model run failed' : err.message);
      return { status: 'failed', error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } };
    }
    // a bug: logged with the job id and the error's class only, never its payload
    this.deps.log.error({ jobId: job.id, errorClass: err instanceof Error ? err.name : typeof err, stack: err instanceof Error ? err.stack?.split('\n').slice(1, 6).join('\n') : undefined }, 'job failed with an internal error');
    return { status: 'failed', error: { code: 'internal', message: 'the job failed on the node; the operator can find it by job id' } };
  }

  private context(job: Job, executor: Executor): JobContext {
    const model = this.deps.registry.get(job.options.model);
    const metrics = this.deps.metrics;
    const modelLabel = { model: job.options.model };
    let lastToken = 0;
    const onEvent = (event: PipelineEvent): void => {
      if (job.terminal) return;
      if (event.event === 'progress') {
        job.progress = event.data;
        if (event.data.stage === 'denoise') metrics.diffusionSteps.inc(modelLabel);
      } else {
        const now = performance.now();
        if (lastToken === 0) metrics.ttft.observe(modelLabel, job.runS!);
        else metrics.interToken.observe(modelLabel, (now - lastToken) / 1000);
        lastToken = now;
      }
      job.events.append(event);
    };
    job.abort.signal.addEventListener('abort', () => executor.cancel(job.id), { once: true });
    const inOrder = publishInCallOrder();
    return {
      jobId: job.id,
      model: { spec: model!.spec!, metadata: model!.metadata! },
      signal: job.abort.signal,
      media: this.deps.media,
      execute: <R>(payload: unknown, transfer?: ArrayBuffer[]): Promise<R> => {
        if (job.abort.signal.aborted) return Promise.reject(new ExecutionFailed('canceled', 'job canceled', true));
        return executor.run<R>(job.id, job.options.model, payload, onEvent, transfer);
      },
      readUpload: (part) => job.scratch.inputs.read(part),
      writeOutput: async (name, contentType, data) => {
        requireOutputName(name);
        await inOrder(job.scratch.outputs.write(name, contentType, data), () => this.published(job, name, contentType, data.length));
      },
      sealOutput: async (name, contentType, produce) => {
        requireOutputName(name);
        await inOrder(job.scratch.outputs.writeVia(name, contentType, produce), ({ bytes }) => this.published(job, name, contentType, bytes));
      },
      emit: onEvent,
      reportSeed: (seed) => (job.seed = seed),
      recordFramesEncoded: (codec, frames) => metrics.videoFramesEncoded.inc({ model: job.options.model, codec }, frames),
    };
  }

  /** An output now in scratch: listed in the job and announced to its event stream. */
  private published(job: Job, name: string, contentType: string, bytes: number): void {
    const entry = {
      name,
      content_type: contentType,
      bytes,
      url: `/v1/jobs/${job.id}/outputs/${name}`,
      expires_at: new Date(Date.now() + job.options.outputTtlS * 1000).toISOString(),
    };
    job.outputs.push(entry);
    job.events.append({ event: 'output', data: entry });
  }

  private async finish(job: Job, ending: Ending): Promise<void> {
    if (job.terminal || this.finishing.has(job)) return;
    this.finishing.add(job);
    // The privacy promise: inputs are gone before anyone hears that the job ended.
    if (ending.status === 'succeeded') await job.scratch.eraseInputs('finished');
    else await job.scratch.eraseAll('finished');
    if (ending.status !== 'succeeded') job.outputs = [];
    job.result = ending.result ?? null;
    job.error = ending.error ?? null;
    job.end(ending.status);
    this.finishing.delete(job);
    const labels = { type: job.type, model: job.options.model };
    this.deps.metrics.jobsFinished.inc({ ...labels, status: ending.status });
    if (job.runS !== null) this.deps.metrics.jobRunSeconds.observe(labels, job.runS);
    this.recordUsage(job);
    const expiresAt = new Date(job.finishedAt!.getTime() + job.options.outputTtlS * 1000).toISOString();
    for (const output of job.outputs) output.expires_at = expiresAt;
    const view = job.view();
    job.events.append({ event: 'status', data: view });
    job.events.append({ event: 'done', data: view });
    if (job.options.webhook) this.deps.webhooks.deliver(job.options.webhook, view);
    if (job.options.ephemeral) {
      void this.forget(job, 'deleted');
      return;
    }
    const timer = setTimeout(() => void this.forget(job, 'expired'), job.options.outputTtlS * 1000);
    timer.unref();
    this.expiryTimers.set(job, timer);
  }

  private recordUsage(job: Job): void {
    const usage = (job.result as { usage?: { prompt_tokens?: number; completion_tokens?: number } } | null)?.usage;
    if (job.type !== 'chat' || !usage) return;
    const model = job.options.model;
    if (usage.prompt_tokens) this.deps.metrics.llmTokens.inc({ model, kind: 'prompt' }, usage.prompt_tokens);
    if (usage.completion_tokens) this.deps.metrics.llmTokens.inc({ model, kind: 'completion' }, usage.completion_tokens);
  }
}

const EMPTY_UPLOADS: UploadSet = { has: () => false, size: () => 0 };
