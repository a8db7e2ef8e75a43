import type { JobProgress, JobType, JobView } from '../../jobs/types.js';
import { parseSse } from '../sse.js';
import { type DriverContext, type RequestRecord, type SendRequest, del, emptyRecord, failed, get, isTimeout, jsonHeaders, memoized, now, postJson, sendForJson, thrownKind } from './record.js';

interface ChatUsage {
  completion_tokens?: number;
}

function completionTokens(job: JobView, streamed: number): number {
  const usage = (job.result as { usage?: ChatUsage } | null)?.usage;
  return typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : streamed;
}

/** Denoising steps are the progress events of the `denoise` stage (or of no stage); encoding frames are not steps. */
const isDenoiseStep = (progress: JobProgress | null | undefined): progress is JobProgress =>
  progress !== null && progress !== undefined && (progress.stage === undefined || progress.stage === 'denoise');

function finish(record: RequestRecord, job: JobView, stepsSeen: number, endMs: number): RequestRecord {
  // A stream joined after the job ended replays only `done`: fall back to the job's last progress.
  const steps = stepsSeen > 0 ? stepsSeen : isDenoiseStep(job.progress) ? job.progress.step : 0;
  const done: RequestRecord = {
    ...record,
    endMs,
    outputTokens: job.type === 'chat' ? completionTokens(job, record.tokenTimesMs.length) : 0,
    steps,
    queueS: job.timings?.queue_s ?? null,
    runS: job.timings?.run_s ?? null,
  };
  if (job.status === 'succeeded') return done;
  return { ...done, error: job.status === 'failed' ? `job_failed:${job.error?.code ?? 'unknown'}` : `job_${job.status}` };
}

function cancelQuietly(ctx: DriverContext, jobId: string): void {
  del(ctx, `/v1/jobs/${encodeURIComponent(jobId)}`)
    .then((res) => res.body.dump())
    .catch(() => undefined);
}

/** Jobs through `POST /v1/jobs`, each followed on its event stream to `done`. */
function jobDriver(ctx: DriverContext, type: JobType): SendRequest {
  const timeoutS = Math.ceil(ctx.timeoutMs / 1000);
  const jobBody = memoized((input) => JSON.stringify({ type, model: ctx.model, input, timeout_s: timeoutS }));
  const submitHeaders = jsonHeaders(ctx);
  const eventHeaders = { ...ctx.headers, accept: 'text/event-stream' };
  return async (input) => {
    const record = emptyRecord(now());
    let jobId: string | null = null;
    try {
      const submitted = await postJson(ctx, '/v1/jobs', jobBody(input), submitHeaders);
      if (submitted.statusCode !== 202 && submitted.statusCode !== 200) {
        await submitted.body.dump();
        return failed(record, `http_${submitted.statusCode}`);
      }
      const job = (await submitted.body.json()) as JobView;
      jobId = job.id;
      const events = await get(ctx, `/v1/jobs/${encodeURIComponent(job.id)}/events`, eventHeaders);
      if (events.statusCode !== 200) {
        await events.body.dump();
        return failed(record, `events_http_${events.statusCode}`);
      }
      let steps = 0;
      let done: { job: JobView; atMs: number } | null = null;
      // Read to the end (the node closes the stream after `done`) so the connection is reused.
      for await (const message of parseSse(events.body)) {
        if (message.event === 'token') record.tokenTimesMs.push(now());
        else if (message.event === 'progress' && isDenoiseStep(JSON.parse(message.data) as JobProgress)) steps++;
        else if (message.event === 'done') done = { job: JSON.parse(message.data) as JobView, atMs: now() };
      }
      return done === null ? failed(record, 'stream_ended_early') : finish(record, done.job, steps, done.atMs);
    } catch (err) {
      const kind = thrownKind(err);
      // A job we stop waiting for would keep the node busy and skew the next point: cancel it.
      if (jobId !== null && isTimeout(kind)) cancelQuietly(ctx, jobId);
      return failed(record, kind);
    }
  };
}

/** KServe v2 inferences: one request, one answer. */
function inferDriver(ctx: DriverContext): SendRequest {
  const path = `/v2/models/${encodeURIComponent(ctx.model)}/infer`;
  const body = memoized((input) => JSON.stringify(input));
  const headers = jsonHeaders(ctx);
  return (input) => sendForJson(ctx, path, body(input), headers);
}

export function infernodeDriver(ctx: DriverContext, type: JobType): SendRequest {
  return type === 'tensor' ? inferDriver(ctx) : jobDriver(ctx, type);
}
