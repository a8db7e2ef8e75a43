import t from 'tap';
import { startNode } from '../helpers/node.js';
import { TENSOR_JOB, call, rawExchange, readEvents } from '../helpers/http.js';

// A canary string sent through every route, in every place a user can put content; it must not appear in
// any log line, metric label or error message.
const CANARY = 'canary-9f27c1e4-a-red-square';
const node = await startNode({ config: { logLevel: 'trace' } });
t.teardown(() => node.close());

t.test('user content sent through every route never reaches a log line or a metric label', async (t) => {
  const withCanary = { ...TENSOR_JOB, input: { inputs: [{ ...TENSOR_JOB.input.inputs[0], name: CANARY }] } };
  const answers = [
    await call(node, 'POST', '/v1/jobs', { body: withCanary }),
    await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, model: CANARY } }),
    await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, [CANARY]: 1 } }),
    await call(node, 'POST', '/v1/jobs', { body: `{"${CANARY}` }),
    await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { 'idempotency-key': CANARY } }),
    await call(node, 'POST', `/v1/jobs?q=${CANARY}`, { body: TENSOR_JOB, headers: { prefer: 'wait=10', 'x-note': CANARY } }),
    await call(node, 'GET', `/v1/jobs/${CANARY}`),
    await call(node, 'GET', `/v1/jobs?status=${CANARY}`),
    await call(node, 'DELETE', `/v1/jobs/${CANARY}`),
    await call(node, 'GET', `/v2/models/${CANARY}`),
    await call(node, 'POST', `/v2/models/${CANARY}/infer`, { body: withCanary.input }),
    await call(node, 'POST', '/v2/models/tiny-tensor/infer', { body: { id: CANARY, inputs: withCanary.input.inputs } }),
    await call(node, 'POST', `/v1/models/${CANARY}/load`),
    await call(node, 'GET', `/${CANARY}`),
    await call(node, 'GET', '/healthz', { headers: { authorization: `Bearer ${CANARY}` } }),
  ];
  const form = new FormData();
  form.append('job', JSON.stringify({ ...TENSOR_JOB, input: { inputs: [{ ...TENSOR_JOB.input.inputs[0], data: 'file:t' }] } }));
  form.append('t', new Blob([new Float32Array([1, 2, 3, 4]).buffer]), `${CANARY}.bin`);
  answers.push(await call(node, 'POST', '/v1/jobs', { body: form, headers: { prefer: 'wait=10' } }));
  const job = answers[5]!.body;
  answers.push(await call(node, 'GET', `/v1/jobs/${job.id}/outputs/${CANARY}`));
  await readEvents(node, `/v1/jobs/${job.id}/events`);

  t.ok(answers.every((a) => a.status < 500), 'no route answered with a 5xx');
  for (const a of answers) {
    if (a.body?.error) t.notMatch(a.body.error.message, CANARY, 'error messages do not echo user content');
  }
  const metrics = await call(node, 'GET', '/metrics');
  t.notMatch(metrics.text, CANARY, 'no metric label holds user content');
  t.ok(node.logs.length > answers.length, 'the node did log (access lines)');
  t.notOk(node.logs.some((line) => line.includes(CANARY)), 'no log line holds user content');
  t.same(await node.jobScratch(), []);
});

t.test("a request Node's HTTP parser refuses is answered in the node's shape, and its bytes are not logged", async (t) => {
  const before = node.logs.length;
  const badChunk = await rawExchange(node, `POST /v1/jobs?q=${CANARY} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${CANARY}\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{"prompt":"${CANARY}"}\r\n`);
  t.match(badChunk, /^HTTP\/1\.1 400 /);
  t.same(JSON.parse(badChunk.slice(badChunk.indexOf('\r\n\r\n') + 4)).error.code, 'invalid_request');
  const bigHeader = await rawExchange(node, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: ${CANARY.repeat(1000)}\r\n\r\n`);
  t.match(bigHeader, /^HTTP\/1\.1 431 /);
  const lines = node.logs.slice(before);
  t.ok(lines.some((l) => l.includes('malformed HTTP request')), 'the refusal is logged (at debug)');
  // Fastify's default handler logged the parser's error whole, its raw bytes as an array of numbers
  t.notOk(lines.some((l) => l.includes(CANARY) || l.includes('rawPacket')), 'no log line holds the raw request');
  t.equal((await call(node, 'GET', '/healthz')).status, 200);
});

t.test('each request leaves one access line with token, client, method, route, status, job and duration', async (t) => {
  const before = node.logs.length;
  const res = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { prefer: 'wait=10' } });
  const access = node.logs.slice(before).map((l) => JSON.parse(l)).filter((l) => l.access);
  t.equal(access.length, 1);
  t.match(access[0], { method: 'POST', route: '/v1/jobs', status: 200, jobId: res.body.id, client: '127.0.0.1' });
  t.type(access[0].duration_ms, 'number');
  t.ok('token' in access[0]);
  t.ok(access[0].time, 'pino JSON lines carry the time');
});
