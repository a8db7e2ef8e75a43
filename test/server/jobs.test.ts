import t from 'tap';
import path from 'node:path';
import ort from 'onnxruntime-node';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNode } from '../helpers/node.js';
import { TENSOR_JOB, call, readEvents } from '../helpers/http.js';

const node = await startNode();
t.teardown(() => node.close());

async function expectedOutputs(data: number[]) {
  const session = await ort.InferenceSession.create(path.join(node.node.config.modelsDir, 'tiny-tensor', 'model.onnx'));
  const results = await session.run({ input: new ort.Tensor('float32', Float32Array.from(data), [1, 4]) });
  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Array.from(v.data as Float32Array)]));
}

t.test('a job is accepted with 202 and a Location, and ends with the model\'s outputs', async (t) => {
  const submitted = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB });
  t.equal(submitted.status, 202);
  t.equal(submitted.headers.get('location'), `/v1/jobs/${submitted.body.id}`);
  t.match(submitted.body.id, /^job_[0-9A-Z]{26}$/);
  t.equal(submitted.body.priority, 5);
  const events = await readEvents(node, `/v1/jobs/${submitted.body.id}/events`);
  t.equal(events.at(-1)?.event, 'done');
  const done = await call(node, 'GET', `/v1/jobs/${submitted.body.id}`);
  t.equal(done.body.status, 'succeeded');
  const want = await expectedOutputs([1, 2, 3, 4]);
  for (const out of done.body.result.outputs) t.same(out.data, want[out.name], `output ${out.name} is what onnxruntime computes`);
  t.ok(done.body.timings.run_s >= 0);
  t.ok(done.body.finished_at);
});

t.test("a job's timings and duration metrics are finer than whole milliseconds", async (t) => {
  const views = [];
  for (let i = 0; i < 5; i++) views.push((await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { prefer: 'wait=30' } })).body);
  const fractional = (s: number) => !Number.isInteger(Math.round(s * 1e9) / 1e6);
  t.ok(views.some((v) => fractional(v.timings.run_s)), 'a tensor run is not a whole number of ms');
  t.ok(views.some((v) => fractional(v.timings.queue_s)), 'nor is its wait in the queue');
  const sum = /infernode_job_queue_seconds_sum\{type="tensor",model="tiny-tensor"\} (\S+)/.exec((await call(node, 'GET', '/metrics')).text);
  t.ok(sum && Number(sum[1]) > 0, 'queue waits under a millisecond still add up');
});

t.test('Prefer: wait answers with the final job', async (t) => {
  const res = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { prefer: 'wait=30' } });
  t.equal(res.status, 200);
  t.equal(res.body.status, 'succeeded');
  t.ok(res.body.result.outputs.length > 0);
});

t.test('the same Idempotency-Key from the same token returns the first job', async (t) => {
  const a = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { 'idempotency-key': 'order-42' } });
  const b = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { 'idempotency-key': 'order-42' } });
  t.equal(a.status, 202);
  t.equal(b.body.id, a.body.id);
  t.equal(b.status, 202, 'the repeat is answered as the first was');
  t.equal(b.headers.get('location'), `/v1/jobs/${a.body.id}`);
  const waited = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { 'idempotency-key': 'order-42', prefer: 'wait=30' } });
  t.equal(waited.status, 200, 'with Prefer: wait, the ended job');
  t.equal(waited.body.id, a.body.id);
  t.equal(waited.body.status, 'succeeded');
});

t.test('the list is newest first and filters by status and type', async (t) => {
  const a = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { prefer: 'wait=30' } });
  const b = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { prefer: 'wait=30' } });
  const list = await call(node, 'GET', '/v1/jobs?status=succeeded&type=tensor&limit=2');
  t.equal(list.status, 200);
  t.same(list.body.jobs.map((j: { id: string }) => j.id), [b.body.id, a.body.id]);
  t.equal((await call(node, 'GET', '/v1/jobs?status=weird')).status, 400);
  t.equal((await call(node, 'GET', '/v1/jobs?limit=0')).status, 400);
});

t.test('DELETE of an ended job erases and forgets it', async (t) => {
  const done = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { prefer: 'wait=30' } });
  const del = await call(node, 'DELETE', `/v1/jobs/${done.body.id}`);
  t.equal(del.status, 204);
  t.equal((await call(node, 'GET', `/v1/jobs/${done.body.id}`)).status, 404);
});

t.test('events resume after Last-Event-ID without repeats', async (t) => {
  const done = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { prefer: 'wait=30' } });
  const all = await readEvents(node, `/v1/jobs/${done.body.id}/events`);
  t.same(all.map((e) => e.event), ['done'], 'after the end the final done comes at once');
  const again = await readEvents(node, `/v1/jobs/${done.body.id}/events`, { 'last-event-id': String(all[0]!.id) });
  t.same(again.map((e) => e.event), ['done']);
  const bad = await call(node, 'GET', `/v1/jobs/${done.body.id}/events`, { headers: { 'last-event-id': 'abc' } });
  t.equal(bad.status, 400);
  t.equal(bad.body.error.field, 'Last-Event-ID');
  const past = await call(node, 'GET', `/v1/jobs/${done.body.id}/events`, { headers: { 'last-event-id': '999999' } });
  t.equal(past.status, 400);
});

t.test('a multipart job reads its tensor from an uploaded part, and the upload is erased at the end', async (t) => {
  const form = new FormData();
  form.append('job', JSON.stringify({ ...TENSOR_JOB, input: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: 'file:t' }] } }));
  form.append('t', new Blob([new Float32Array([1, 2, 3, 4]).buffer]), 't.bin');
  const res = await call(node, 'POST', '/v1/jobs', { body: form, headers: { prefer: 'wait=30' } });
  t.equal(res.status, 200, res.text);
  const want = await expectedOutputs([1, 2, 3, 4]);
  for (const out of res.body.result.outputs) t.same(out.data, want[out.name]);
  t.same(await node.jobScratch(), [], 'nothing left in scratch');
  t.equal(node.node.scratch.bytes, 0);
});

t.test('a multipart job part may declare Content-Type: application/json (curl -F "job=...;type=application/json")', async (t) => {
  const body = `--zz\r\nContent-Disposition: form-data; name="job"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(TENSOR_JOB)}\r\n--zz--\r\n`;
  const res = await call(node, 'POST', '/v1/jobs', { body, headers: { 'content-type': 'multipart/form-data; boundary=zz', prefer: 'wait=30' } });
  t.equal(res.status, 200, res.text);
  t.equal(res.body.status, 'succeeded');
  const want = await expectedOutputs([1, 2, 3, 4]);
  for (const out of res.body.result.outputs) t.same(out.data, want[out.name]);
});

t.test('a client that sends a whole upload and goes away at once leaves nothing in scratch', async (t) => {
  // big enough that the part is still being stored when the connection closes
  const job = JSON.stringify({ ...TENSOR_JOB, input: { inputs: [{ ...TENSOR_JOB.input.inputs[0], data: 'file:t' }] } });
  const body = Buffer.concat([
    Buffer.from(`--zz\r\nContent-Disposition: form-data; name="job"\r\n\r\n${job}\r\n--zz\r\nContent-Disposition: form-data; name="t"; filename="t.bin"\r\n\r\n`),
    Buffer.alloc(150_000, 1),
    Buffer.from('\r\n--zz--\r\n'),
  ]);
  const head = Buffer.from(`POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz\r\nContent-Length: ${body.length}\r\n\r\n`);
  for (let i = 0; i < 3; i++) {
    const socket = net.connect(Number(new URL(node.url).port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    socket.write(Buffer.concat([head, body]));
    socket.destroy();
  }
  let left = await node.jobScratch();
  for (let i = 0; i < 100 && left.length; i++) {
    await sleep(20);
    left = await node.jobScratch();
  }
  t.same(left, [], 'the partial uploads were erased');
});

t.test('KServe v2: metadata, ready and infer', async (t) => {
  const meta = await call(node, 'GET', '/v2/models/tiny-tensor');
  t.equal(meta.body.platform, 'onnxruntime_onnx');
  t.same(meta.body.inputs[0], { name: 'input', datatype: 'FP32', shape: [-1, 4] });
  t.equal((await call(node, 'GET', '/v2/models/tiny-tensor/ready')).status, 200);
  t.equal((await call(node, 'GET', '/v2/health/live')).status, 200);
  t.equal((await call(node, 'GET', '/v2/health/ready')).status, 200);
  const infer = await call(node, 'POST', '/v2/models/tiny-tensor/infer', { body: { id: 'r1', inputs: TENSOR_JOB.input.inputs } });
  t.equal(infer.status, 200);
  t.equal(infer.body.id, 'r1');
  const want = await expectedOutputs([1, 2, 3, 4]);
  for (const out of infer.body.outputs) t.same(out.data, want[out.name]);
});

t.test('models: list, unload, load', async (t) => {
  const list = await call(node, 'GET', '/v1/models');
  const entry = list.body.data.find((m: { id: string }) => m.id === 'tiny-tensor');
  t.match(entry, { object: 'model', owned_by: 'infernode', type: 'tensor', status: 'loaded', device: 'cpu' });
  t.equal((await call(node, 'POST', '/v1/models/tiny-tensor/unload')).body.status, 'unloaded');
  const refused = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB });
  t.equal(refused.status, 503);
  t.equal(refused.body.error.code, 'not_ready');
  t.equal((await call(node, 'POST', '/v1/models/tiny-tensor/load')).body.status, 'loaded');
  t.equal((await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { prefer: 'wait=30' } })).body.status, 'succeeded');
});

t.test('health and readiness', async (t) => {
  t.same((await call(node, 'GET', '/healthz')).body, { status: 'ok' });
  const ready = await call(node, 'GET', '/readyz');
  t.equal(ready.status, 200);
  t.equal(ready.body.status, 'ready');
  t.same(ready.body.devices.map((d: { id: string; provider: string }) => [d.id, d.provider]), [['cpu', 'CPUExecutionProvider']]);
  t.ok(ready.body.models.some((m: { name: string }) => m.name === 'tiny-tensor'));
});
