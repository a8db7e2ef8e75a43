export const JOB_TYPES = ['chat', 'image', 'video', 'tensor'] as const;
export type JobType = (typeof JOB_TYPES)[number];

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'canceled']);

export interface JobOutputEntry {
  name: string;
  content_type: string;
  bytes: number;
  url: string;
  expires_at: string;
}

export interface JobErrorView {
  code: string;
  message: string;
  /** the input field at fault, where the failure is the input's (a prompt over the context once tokenized) */
  field?: string;
}

export interface JobProgress {
  step: number;
  total: number;
  stage?: string;
}

/** The job object of API.md, as it goes over the wire. */
export interface JobView {
  id: string;
  type: JobType;
  model: string;
  status: JobStatus;
  priority: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  progress: JobProgress | null;
  outputs: JobOutputEntry[];
  result: unknown;
  error: JobErrorView | null;
  timings: { queue_s: number | null; run_s: number | null };
  device?: string;
  seed?: number;
}

export type JobEvent =
  | { event: 'status'; data: JobView }
  | { event: 'progress'; data: JobProgress }
  | { event: 'token'; data: { text: string; index: number } }
  | { event: 'output'; data: JobOutputEntry }
  | { event: 'done'; data: JobView };

/** Events a pipeline may raise while it runs; the job layer adds status, output and done itself. */
export type PipelineEvent = Extract<JobEvent, { event: 'progress' | 'token' }>;
