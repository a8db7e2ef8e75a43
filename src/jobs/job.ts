import { performance } from 'node:perf_hooks';
import { EventLog } from './event-log.js';
import type { JobErrorView, JobOutputEntry, JobProgress, JobStatus, JobType, JobView } from './types.js';
import { TERMINAL_STATUSES } from './types.js';
import type { JobScratch } from '../scratch/scratch-store.js';

export interface JobOptions {
  id: string;
  type: JobType;
  model: string;
  owner: string;
  priority: number;
  timeoutS: number;
  outputTtlS: number;
  webhook: string | null;
  idempotencyKey: string | null;
  /** forgotten as soon as it ends: the caller got the result in its response (KServe infer) */
  ephemeral: boolean;
}

/** One job's state. Owned by the job service; the routes read it through `view()`. */
export class Job {
  readonly createdAt = new Date();
  readonly events = new EventLog();
  readonly abort = new AbortController();
  status: JobStatus = 'queued';
  startedAt: Date | null = null;
  finishedAt: Date | null = null;
  // Durations come from the monotonic clock: Date has whole milliseconds, a queue wait or a first token often less.
  private readonly createdMs = performance.now();
  private startedMs: number | null = null;
  private finishedMs: number | null = null;
  progress: JobProgress | null = null;
  outputs: JobOutputEntry[] = [];
  result: unknown = null;
  error: JobErrorView | null = null;
  device: string | null = null;
  seed: number | null = null;
  /** the parsed input; dropped when the job ends so that user content does not outlive it */
  input: unknown;
  private readonly ended: Promise<void>;
  private markEnded!: () => void;

  constructor(
    readonly options: JobOptions,
    input: unknown,
    readonly scratch: JobScratch,
  ) {
    this.input = input;
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
  }

  get id(): string {
    return this.options.id;
  }
  get type(): JobType {
    return this.options.type;
  }
  get terminal(): boolean {
    return TERMINAL_STATUSES.has(this.status);
  }

  /** Resolves once the job reached a terminal state. */
  whenEnded(): Promise<void> {
    return this.ended;
  }

  /** @internal job service only; returns the seconds the job was queued */
  start(): number {
    this.status = 'running';
    this.startedAt = new Date();
    this.startedMs = performance.now();
    return (this.startedMs - this.createdMs) / 1000;
  }

  /** @internal job service only */
  end(status: JobStatus): void {
    this.status = status;
    this.finishedAt = new Date();
    this.finishedMs = performance.now();
    this.input = null;
    this.markEnded();
  }

  /** seconds queued, once started */
  get queueS(): number | null {
    return this.startedMs === null ? null : (this.startedMs - this.createdMs) / 1000;
  }
  /** seconds run so far, or in all once ended */
  get runS(): number | null {
    return this.startedMs === null ? null : ((this.finishedMs ?? performance.now()) - this.startedMs) / 1000;
  }

  view(): JobView {
    const runS = this.finishedMs === null ? null : this.runS;
    return {
      id: this.id,
      type: this.type,
      model: this.options.model,
      status: this.status,
      priority: this.options.priority,
      created_at: this.createdAt.toISOString(),
      started_at: this.startedAt?.toISOString() ?? null,
      finished_at: this.finishedAt?.toISOString() ?? null,
      progress: this.progress,
      outputs: this.outputs,
      result: this.result,
      error: this.error,
      timings: { queue_s: this.queueS, run_s: runS },
      ...(this.device ? { device: this.device } : {}),
      ...(this.seed !== null ? { seed: this.seed } : {}),
    };
  }
}
