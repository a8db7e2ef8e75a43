import t from 'tap';
import { EventEmitter } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { JobService, type WebhookSink } from '../../src/jobs/job-service.js';
import { createMetrics } from '../../src/metrics/registry.js';
import type { JobHandler } from '../../src/pipelines/job-handler.js';
import type { Executor } from '../../src/runtime/executor.js';
import type { ModelRegistry } from '../../src/runtime/model-registry.js';
import { ScratchStore } from '../../src/scratch/scratch-store.js';
import type { MediaPool } from '../../src/media/pool.js';
import type { Principal } from '../../src/server/principal.js';
import type { JobView } from '../../src/jobs/types.js';

const owner: Principal = { name: 'alice', scopes: new Set(['jobs:read', 'jobs:write']) };
const other: Principal = { name: 'bob', scopes: new Set(['jobs:read', 'jobs:write']) };

/** A job whose run waits until the test releases it, checking for cancel like a step loop does. */
function gatedHandler() {
  const gates: Array<() => void> = [];
  const handler: JobHandler<{ steps: number }> = {
    type: 'tensor',
    parse: (input) => input as { steps: number },
    async run(input, ctx) {
      await new Promise<void>((resolve) => gates.push(resolve));
      if (ctx.signal.aborted) throw new Error('aborted');
      await ctx.writeOutput('out.txt', 'text/plain', Buffer.from(`did ${input.steps}`));
      return { steps: input.steps };
    },
  };
  return { handler, release: () => gates.splice(0).forEach((g) => g()) };
}

async function service(options: { queueSize?: number; concurrency?: number; webhooks?: WebhookSink } = {}) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'infernode-js-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const metrics = createMetrics();
  const scratch = new ScratchStore(root, { usage: () => undefined, erased: () => undefined, eraseFailed: () => undefined });
  const executor = Object.assign(new EventEmitter(), { device: { id: 'cpu', kind: 'cpu', index: 0 }, cancel: () => undefined }) as unknown as Executor;
  const registry = {
    require: () => ({ name: 'm', spec: { name: 'm', type: 'tensor', dir: root, manifest: {} }, metadata: { inputs: [], outputs: [], info: {} }, devices: ['cpu'] }),
    get: () => ({ spec: { name: 'm', type: 'tensor', dir: root, manifest: {} }, metadata: { inputs: [], outputs: [], info: {} } }),
  } as unknown as ModelRegistry;
  const gated = gatedHandler();
  const delivered: JobView[] = [];
  const jobs = new JobService({
    registry,
    executors: [executor],
    scratch,
    media: {} as MediaPool,
    metrics,
    log: pino({ level: 'silent' }),
    handlers: { tensor: gated.handler as JobHandler },
    webhooks: options.webhooks ?? { check: () => null, deliver: (_u, job) => void delivered.push(job) },
    limits: { uploadLimitBytes: 1e6, bodyLimitBytes: 1e6 },
    queueSize: options.queueSize ?? 8,
    concurrency: { chat: 1, image: 1, video: 1, tensor: options.concurrency ?? 1 },
  });
  return { jobs, scratch, root, metrics, release: gated.release, delivered };
}

const request = (over: Record<string, unknown> = {}) => ({ type: 'tensor' as const, model: 'm', input: { steps: 1 }, priority: 5, timeoutS: 60, outputTtlS: 60, webhook: null, ...over });

t.test('a full device queue answers 429 queue_full with Retry-After', async (t) => {
  const { jobs } = await service({ queueSize: 1, concurrency: 1 });
  await jobs.submit(owner, request());
  await jobs.submit(owner, request());
  const err = await jobs.submit(owner, request()).catch((e) => e);
  t.equal(err.statusCode, 429);
  t.equal(err.code, 'queue_full');
  t.ok(err.retryAfterS >= 1);
});

t.test('inputs are erased before the terminal event goes out; outputs stay until forgotten', async (t) => {
  const { jobs, root, release, delivered } = await service();
  const prepared = jobs.prepare();
  await prepared.scratch.inputs.write('upload', 'application/octet-stream', Buffer.from('user input'));
  const job = await jobs.submit(owner, request({ webhook: 'https://hooks.example.com/x' }), { prepared });
  const seenAtDone: string[][] = [];
  job.events.subscribe(0, (e) => {
    if (e.event.event === 'done') seenAtDone.push(job.scratch.inputs.names());
  });
  release();
  await job.whenEnded();
  t.equal(job.status, 'succeeded');
  t.same(seenAtDone, [[]], 'no input remained when done was emitted');
  t.equal(delivered.length, 1, 'the webhook went out after the end');
  t.equal((await readdir(path.join(root, job.id))).length, 1, 'only the output is left');
  t.same(await jobs.readOutput(job, 'out.txt'), { contentType: 'text/plain', data: Buffer.from('did 1') });
  await jobs.forget(job);
  t.same(await readdir(root), []);
});

t.test('a canceled running job is canceled at once and its scratch is erased', async (t) => {
  const { jobs, root, release } = await service();
  const prepared = jobs.prepare();
  await prepared.scratch.inputs.write('upload', 'x', Buffer.from('secret'));
  const job = await jobs.submit(owner, request(), { prepared });
  t.equal(job.status, 'running');
  await jobs.cancel(job);
  t.equal(job.status, 'canceled');
  t.same(await readdir(root), []);
  release();
});

t.test('a timeout covers the queue: a queued job that waits too long fails with timeout', async (t) => {
  const { jobs, release } = await service({ concurrency: 1 });
  await jobs.submit(owner, request());
  const job = await jobs.submit(owner, request({ timeoutS: 0.05 }));
  t.equal(job.status, 'queued');
  await job.whenEnded();
  t.equal(job.status, 'failed');
  t.equal(job.error?.code, 'timeout');
  release();
});

t.test('a higher priority job leaves the queue first', async (t) => {
  const { jobs, release } = await service({ concurrency: 1 });
  const first = await jobs.submit(owner, request());
  const low = await jobs.submit(owner, request({ priority: 1 }));
  const high = await jobs.submit(owner, request({ priority: 9 }));
  release();
  await first.whenEnded();
  for (let i = 0; i < 100 && high.status === 'queued'; i++) await new Promise((r) => setImmediate(r));
  t.equal(high.status, 'running');
  t.equal(low.status, 'queued');
});

t.test('a job belongs to its token: another token gets 404', async (t) => {
  const { jobs, release } = await service();
  const job = await jobs.submit(owner, request());
  t.equal(jobs.get(job.id, owner), job);
  t.throws(() => jobs.get(job.id, other), { code: 'not_found' });
  t.same(jobs.list(other, { status: undefined, type: undefined, limit: 10 }), []);
  const admin: Principal = { name: 'ops', scopes: new Set(['models:admin']) };
  t.equal(jobs.get(job.id, admin), job, 'models:admin reads every job');
  release();
});

t.test('draining refuses new jobs with 503 and erases everything', async (t) => {
  const { jobs, root, release } = await service();
  const prepared = jobs.prepare();
  await prepared.scratch.inputs.write('upload', 'x', Buffer.from('secret'));
  const job = await jobs.submit(owner, request(), { prepared });
  const draining = jobs.drain(0.05);
  const refused = await jobs.submit(owner, request()).catch((e) => e);
  t.equal(refused.code, 'draining');
  t.equal(refused.statusCode, 503);
  await draining;
  t.equal(job.status, 'canceled');
  t.same(await readdir(root), []);
  release();
});
