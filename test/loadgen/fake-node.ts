import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** What the fake served, for tests to check the client's figures against. */
export interface FakeCounts {
  jobsSubmitted: number;
  jobsSucceeded: number;
  jobsFailed: number;
  rejected: number;
  canceled: number;
  tokensServed: number;
  stepsServed: number;
  chatCompletions: number;
  images: number;
  infers: number;
  scrapes: number;
}

export interface FakeNodeOptions {
  /** Bearer token the fake requires; none when undefined. */
  token?: string;
  /** Every Nth submission (1-based) is refused with 429 queue_full. */
  rejectEvery?: number;
  /** Every Nth accepted job ends `failed`. */
  failEvery?: number;
  /** Every Nth accepted job never ends (its event stream stays open). */
  hangEvery?: number;
  /** Every Nth accepted job has ended when its event stream connects: the stream replays only `done`, as the node's does. */
  endBeforeStreamEvery?: number;
  /** The tensor and OpenAI image routes answer 200 with a body that is not JSON. */
  notJsonAnswers?: boolean;
  queued?: number;
  gpu?: boolean;
}

export interface FakeNode {
  url: string;
  counts: FakeCounts;
  close(): Promise<void>;
}

interface FakeJob {
  id: string;
  type: string;
  model: string;
  input: Record<string, unknown>;
  outcome: 'succeed' | 'fail' | 'hang' | 'endBeforeStream';
}

const tokensFor = (input: Record<string, unknown>): number => (typeof input.max_tokens === 'number' ? input.max_tokens : 5);
const stepsFor = (input: Record<string, unknown>): number => (typeof input.steps === 'number' ? input.steps : 4);

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function finalProgress(job: FakeJob, status: string, steps: number): Record<string, unknown> | null {
  if (job.type === 'video' && status !== 'queued') return { step: 3, total: 3, stage: 'encode' };
  return job.type === 'image' || job.type === 'video' ? { step: status === 'queued' ? 0 : steps, total: steps, stage: 'denoise' } : null;
}

function jobView(job: FakeJob, status: string): Record<string, unknown> {
  const steps = stepsFor(job.input);
  const tokens = tokensFor(job.input);
  return {
    id: job.id, type: job.type, model: job.model, status, priority: 5,
    created_at: new Date().toISOString(), started_at: null, finished_at: null,
    progress: finalProgress(job, status, steps),
    outputs: [],
    result: job.type === 'chat' && status === 'succeeded' ? { text: 'x', finish_reason: 'length', usage: { prompt_tokens: 3, completion_tokens: tokens, total_tokens: tokens + 3 } } : null,
    error: status === 'failed' ? { code: 'internal', message: 'the fake failed this job' } : null,
    timings: status === 'queued' ? { queue_s: null, run_s: null } : { queue_s: 0.25, run_s: 0.5 },
  };
}

/** A node:http server on 127.0.0.1 speaking the routes `infernode bench` drives, with counts of what it served. */
export async function startFakeNode(options: FakeNodeOptions = {}): Promise<FakeNode> {
  const counts: FakeCounts = { jobsSubmitted: 0, jobsSucceeded: 0, jobsFailed: 0, rejected: 0, canceled: 0, tokensServed: 0, stepsServed: 0, chatCompletions: 0, images: 0, infers: 0, scrapes: 0 };
  const jobs = new Map<string, FakeJob>();
  let submissions = 0;
  let accepted = 0;

  const sse = (res: ServerResponse, event: string, data: unknown, id: number): void => {
    res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  async function streamJob(job: FakeJob, res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (job.outcome === 'endBeforeStream') return replayDone(job, res);
    let id = 1;
    sse(res, 'status', jobView(job, 'running'), id++);
    if (job.outcome === 'hang') return;
    if (job.type === 'chat' && job.outcome === 'succeed') {
      for (let i = 0; i < tokensFor(job.input); i++) {
        await nextTurn();
        sse(res, 'token', { text: ` w${i}`, index: i }, id++);
        counts.tokensServed++;
      }
    }
    if ((job.type === 'image' || job.type === 'video') && job.outcome === 'succeed') {
      const total = stepsFor(job.input);
      for (let step = 1; step <= total; step++) {
        await nextTurn();
        sse(res, 'progress', { step, total, stage: 'denoise' }, id++);
        counts.stepsServed++;
      }
      if (job.type === 'video') for (let frame = 1; frame <= 3; frame++) sse(res, 'progress', { step: frame, total: 3, stage: 'encode' }, id++);
    }
    const status = job.outcome === 'succeed' ? 'succeeded' : 'failed';
    if (status === 'succeeded') counts.jobsSucceeded++;
    else counts.jobsFailed++;
    sse(res, 'done', jobView(job, status), id++);
    res.end();
  }

  function replayDone(job: FakeJob, res: ServerResponse): void {
    counts.jobsSucceeded++;
    if (job.type === 'chat') counts.tokensServed += tokensFor(job.input);
    if (job.type === 'image' || job.type === 'video') counts.stepsServed += stepsFor(job.input);
    sse(res, 'done', jobView(job, 'succeeded'), 1);
    res.end();
  }

  async function streamChatCompletion(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    counts.chatCompletions++;
    const tokens = tokensFor(body);
    const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
      `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk({ role: 'assistant' }, null));
    for (let i = 0; i < tokens; i++) {
      await nextTurn();
      res.write(chunk({ content: ` w${i}` }, null));
      counts.tokensServed++;
    }
    res.write(chunk({}, 'length'));
    res.write(`data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 3, completion_tokens: tokens, total_tokens: tokens + 3 } })}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  function metricsBody(): string {
    const lines = ['# TYPE infernode_jobs_queued gauge', `infernode_jobs_queued{device="cpu"} ${options.queued ?? 0}`];
    if (options.gpu) {
      lines.push('infernode_gpu_utilization_ratio{gpu="0",uuid="GPU-a"} 0.5', 'infernode_gpu_utilization_ratio{gpu="1",uuid="GPU-b"} 0.7');
      lines.push('infernode_gpu_memory_used_bytes{gpu="0",uuid="GPU-a"} 1000', 'infernode_gpu_memory_used_bytes{gpu="1",uuid="GPU-b"} 2000');
    }
    return `${lines.join('\n')}\n`;
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      return sendJson(res, 401, { error: { code: 'unauthorized', message: 'no token' } }, { 'www-authenticate': 'Bearer' });
    }
    const path = req.url ?? '/';
    if (req.method === 'GET' && path === '/metrics') {
      counts.scrapes++;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      return void res.end(metricsBody());
    }
    if (req.method === 'POST' && path === '/v1/jobs') {
      const body = await readJson(req);
      submissions++;
      if (options.rejectEvery && submissions % options.rejectEvery === 0) {
        counts.rejected++;
        return sendJson(res, 429, { error: { code: 'queue_full', message: 'The queue is full.' } }, { 'retry-after': '1' });
      }
      accepted++;
      counts.jobsSubmitted++;
      const every = (n: number | undefined): boolean => n !== undefined && accepted % n === 0;
      const outcome = every(options.hangEvery) ? 'hang' : every(options.failEvery) ? 'fail' : every(options.endBeforeStreamEvery) ? 'endBeforeStream' : 'succeed';
      const job: FakeJob = { id: `job_${accepted}`, type: String(body.type), model: String(body.model), input: body.input as Record<string, unknown>, outcome };
      jobs.set(job.id, job);
      return sendJson(res, 202, jobView(job, 'queued'), { location: `/v1/jobs/${job.id}` });
    }
    const events = /^\/v1\/jobs\/([^/]+)\/events$/.exec(path);
    if (req.method === 'GET' && events) {
      const job = jobs.get(events[1] as string);
      return job ? streamJob(job, res) : sendJson(res, 404, { error: { code: 'not_found', message: 'no such job' } });
    }
    if (req.method === 'DELETE' && path.startsWith('/v1/jobs/')) {
      counts.canceled++;
      return sendJson(res, 200, {});
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') return streamChatCompletion(await readJson(req), res);
    if (req.method === 'POST' && path === '/v1/images/generations') {
      await readJson(req);
      counts.images++;
      if (options.notJsonAnswers) return void res.end('<html>a proxy page</html>');
      return sendJson(res, 200, { created: 1, data: [{ b64_json: 'iVBORw0KGgo=' }] });
    }
    if (req.method === 'GET' && /^\/v2\/models\/[^/]+$/.test(path)) {
      return sendJson(res, 200, { name: 'tiny-tensor', platform: 'onnxruntime_onnx', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }] });
    }
    if (req.method === 'POST' && /^\/v2\/models\/[^/]+\/infer$/.test(path)) {
      const body = (await readJson(req)) as { inputs: { shape: number[]; data: number[] }[] };
      counts.infers++;
      if (options.notJsonAnswers) return void res.end('<html>a proxy page</html>');
      const x = body.inputs[0];
      return sendJson(res, 200, { model_name: 'tiny-tensor', outputs: [{ name: 'y', datatype: 'FP32', shape: x?.shape, data: x?.data.map((v) => v * 2) }] });
    }
    sendJson(res, 404, { error: { code: 'not_found', message: 'no such route' } });
  }

  const server = createServer((req, res) => {
    route(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
