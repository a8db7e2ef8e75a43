import t from 'tap';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifySignature } from '../../src/jobs/webhooks/signature.js';
import { startNode } from '../helpers/node.js';
import { TENSOR_JOB, call, readEvents } from '../helpers/http.js';

const SECRET = 'webhook-secret-for-tests-0123456789';
const node = await startNode({
  models: ['tiny-tensor', 'busy-tensor'],
  config: { queueSize: 1, concurrency: { chat: 1, image: 1, video: 1, tensor: 1 }, webhookAllow: ['127.0.0.1'], webhookSecret: SECRET },
});
t.teardown(() => node.close());

/** a busy-tensor job that runs for about `iterations / 10000` seconds on this machine */
const busyJob = (iterations: number, extra: Record<string, unknown> = {}) => ({
  type: 'tensor',
  model: 'busy-tensor',
  input: {
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [8, 512], data: new Array(8 * 512).fill(0.5) },
      { name: 'iterations', datatype: 'INT64', shape: [1], data: [iterations] },
    ],
  },
  ...extra,
});

async function untilStatus(id: string, status: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await call(node, 'GET', `/v1/jobs/${id}`)).body.status === status) return;
    await sleep(10);
  }
  throw new Error(`job never reached ${status}`);
}

t.test('a running job is canceled at once; its events end with done; the next job runs after it', async (t) => {
  const running = await call(node, 'POST', '/v1/jobs', { body: busyJob(30000) });
  await untilStatus(running.body.id, 'running');
  const events = readEvents(node, `/v1/jobs/${running.body.id}/events`);
  const canceled = await call(node, 'DELETE', `/v1/jobs/${running.body.id}`);
  t.equal(canceled.status, 200);
  t.equal(canceled.body.status, 'canceled');
  const seen = await events;
  t.same(seen.map((e) => e.event).slice(-2), ['status', 'done']);
  t.equal(seen.at(-1)?.data.status, 'canceled');
  t.same(seen.map((e) => e.id), seen.map((_, i) => seen[0]!.id + i), 'ids are consecutive');
  const next = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { prefer: 'wait=60' } });
  t.equal(next.body.status, 'succeeded');
});

t.test('a full queue answers 429 queue_full with Retry-After, and the daemon stays healthy', async (t) => {
  const first = await call(node, 'POST', '/v1/jobs', { body: busyJob(10000) });
  await untilStatus(first.body.id, 'running');
  const second = await call(node, 'POST', '/v1/jobs', { body: busyJob(1) });
  t.equal(second.status, 202);
  const third = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB });
  t.equal(third.status, 429);
  t.equal(third.body.error.code, 'queue_full');
  t.ok(Number(third.headers.get('retry-after')) >= 1);
  t.equal((await call(node, 'GET', '/healthz')).status, 200);
  await call(node, 'DELETE', `/v1/jobs/${first.body.id}`);
  await call(node, 'DELETE', `/v1/jobs/${second.body.id}`);
});

t.test('timeout_s bounds the run: the job fails with timeout and leaves nothing', async (t) => {
  const res = await call(node, 'POST', '/v1/jobs', { body: busyJob(30000, { timeout_s: 0.3 }), headers: { prefer: 'wait=30' } });
  t.equal(res.body.status, 'failed');
  t.equal(res.body.error.code, 'timeout');
  t.same(await node.jobScratch(), []);
});

t.test('a webhook is POSTed on the terminal state, signed with the secret', async (t) => {
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const job = await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, webhook: `http://127.0.0.1:${port}/hook` }, headers: { prefer: 'wait=30' } });
  for (let i = 0; i < 200 && received.length === 0; i++) await sleep(10);
  t.equal(received.length, 1);
  const delivery = received[0]!;
  t.equal(JSON.parse(delivery.body).id, job.body.id);
  t.equal(JSON.parse(delivery.body).status, 'succeeded');
  t.ok(verifySignature(SECRET, delivery.headers['infernode-signature'] as string, delivery.body), 'the signature verifies');
  t.notOk(verifySignature('another-secret-entirely-0123456789', delivery.headers['infernode-signature'] as string, delivery.body));
});
