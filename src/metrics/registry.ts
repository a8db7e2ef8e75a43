import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const JOB_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const RUN_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const TOKEN_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

// prom-client names these gauges *_total, which promtool's lint rejects for gauges.
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Every metric of API.md, on a registry of its own (one per app, so tests can build several). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  const registers = [registry];

  return {
    registry,
    jobsSubmitted: new Counter({ name: 'infernode_jobs_submitted_total', help: 'Jobs accepted into a queue.', labelNames: ['type', 'model'] as const, registers }),
    jobsFinished: new Counter({ name: 'infernode_jobs_finished_total', help: 'Jobs that reached a terminal state.', labelNames: ['type', 'model', 'status'] as const, registers }),
    jobsRejected: new Counter({ name: 'infernode_jobs_rejected_total', help: 'Requests refused before a job was queued.', labelNames: ['reason'] as const, registers }),
    jobQueueSeconds: new Histogram({ name: 'infernode_job_queue_seconds', help: 'Time from submission to start.', labelNames: ['type', 'model'] as const, buckets: JOB_BUCKETS, registers }),
    jobRunSeconds: new Histogram({ name: 'infernode_job_run_seconds', help: 'Time from start to the end of the job.', labelNames: ['type', 'model'] as const, buckets: JOB_BUCKETS, registers }),
    jobsQueued: new Gauge({ name: 'infernode_jobs_queued', help: 'Jobs waiting in the device queue.', labelNames: ['device'] as const, registers }),
    jobsRunning: new Gauge({ name: 'infernode_jobs_running', help: 'Jobs running on the device.', labelNames: ['device'] as const, registers }),
    modelRunSeconds: new Histogram({ name: 'infernode_model_run_seconds', help: 'One ONNX Runtime session run.', labelNames: ['model', 'graph'] as const, buckets: RUN_BUCKETS, registers }),
    modelLoaded: new Gauge({ name: 'infernode_model_loaded', help: '1 when the model is loaded on the device.', labelNames: ['model', 'device'] as const, registers }),
    modelLoadSeconds: new Gauge({ name: 'infernode_model_load_seconds', help: 'Duration of the last load of the model, warm-up included.', labelNames: ['model'] as const, registers }),
    ttft: new Histogram({ name: 'infernode_llm_time_to_first_token_seconds', help: 'From job start to its first generated token.', labelNames: ['model'] as const, buckets: TOKEN_BUCKETS, registers }),
    interToken: new Histogram({ name: 'infernode_llm_inter_token_seconds', help: 'Between consecutive generated tokens of a sequence.', labelNames: ['model'] as const, buckets: TOKEN_BUCKETS, registers }),
    llmTokens: new Counter({ name: 'infernode_llm_tokens_total', help: 'Tokens processed, by kind.', labelNames: ['model', 'kind'] as const, registers }),
    llmBatchSize: new Histogram({ name: 'infernode_llm_batch_size', help: 'Sequences in each batched decode step.', labelNames: ['model'] as const, buckets: BATCH_BUCKETS, registers }),
    diffusionSteps: new Counter({ name: 'infernode_diffusion_steps_total', help: 'Denoising steps run.', labelNames: ['model'] as const, registers }),
    videoFramesEncoded: new Counter({ name: 'infernode_video_frames_encoded_total', help: 'Video frames encoded.', labelNames: ['model', 'codec'] as const, registers }),
    scratchBytes: new Gauge({ name: 'infernode_scratch_bytes', help: 'Bytes in scratch storage (ciphertext).', registers }),
    scratchErasures: new Counter({ name: 'infernode_scratch_erasures_total', help: 'Scratch erasures, by reason.', labelNames: ['reason'] as const, registers }),
    scratchEraseFailures: new Counter({ name: 'infernode_scratch_erase_failures_total', help: 'Scratch erasures that failed.', registers }),
    ready: new Gauge({ name: 'infernode_ready', help: '1 while /readyz answers ready.', registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
