import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNode } from '../helpers/node.js';
import { TENSOR_JOB, call, rawExchange } from '../helpers/http.js';

const node = await startNode({ config: { bodyLimitBytes: 4096, uploadLimitBytes: 2048, webhookAllow: ['hooks.example.com'], webhookSecret: 'a-webhook-secret-of-32-characters!' } });
t.teardown(() => node.close());

const tensorInput = (over: Record<string, unknown>) => ({ ...TENSOR_JOB, input: { inputs: [{ ...TENSOR_JOB.input.inputs[0], ...over }] } });

async function expectError(t: Test, res: Awaited<ReturnType<typeof call>>, status: number, code: string, field?: string) {
  t.equal(res.status, status, `status ${status}: ${res.text}`);
  t.equal(res.body?.error?.code, code);
  t.type(res.body?.error?.message, 'string');
  t.ok(res.body.error.message.length > 10, 'the message says what is wrong');
  if (field) t.equal(res.body.error.field, field);
}

/** Each case ends with the daemon healthy and nothing in scratch. */
function badInput(name: string, fn: (t: Test) => Promise<void>): void {
  t.test(name, async (t) => {
    await fn(t);
    t.equal((await call(node, 'GET', '/healthz')).status, 200, 'the daemon stays healthy');
    for (let i = 0; i < 100 && (await node.jobScratch()).length; i++) await sleep(20);
    t.same(await node.jobScratch(), [], 'nothing left in scratch');
  });
}

badInput('malformed JSON is a 400', async (t) => {
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: '{"type": "tensor",' }), 400, 'invalid_request');
});

badInput('a wrong content type is a 415', async (t) => {
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: 'type=tensor', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
});

badInput('an unknown job type is a 400 naming type', async (t) => {
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, type: 'audio' } }), 400, 'invalid_request', 'type');
});

badInput('an unknown model is a 404', async (t) => {
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, model: 'nope' } }), 404, 'model_not_found', 'model');
});

badInput('a model of another type is a 400', async (t) => {
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, type: 'image' } }), 400, 'invalid_input', 'model');
});

badInput('missing and out-of-range fields name the field', async (t) => {
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: { type: 'tensor', input: {} } }), 400, 'invalid_request', 'model');
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, priority: 10 } }), 400, 'invalid_input', 'priority');
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, timeout_s: 999999 } }), 400, 'invalid_input', 'timeout_s');
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, input: { inputs: [] } } }), 400, 'invalid_input', 'input.inputs');
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, extra: 1 } }), 400, 'invalid_request', 'extra');
});

badInput('a body over the limit is a 413', async (t) => {
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: tensorInput({ data: new Array(2000).fill(1) }) }), 413, 'payload_too_large');
});

badInput('a tensor whose shape and data disagree is a 400 naming data', async (t) => {
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: tensorInput({ data: [1, 2, 3] }) }), 400, 'invalid_input', 'input.inputs[0].data');
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: tensorInput({ shape: [1, 5], data: [1, 2, 3, 4, 5] }) }), 400, 'invalid_input', 'input.inputs[0].shape');
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: tensorInput({ data: [1, 2, 'x', 4] }) }), 400, 'invalid_input', 'input.inputs[0].data');
});

badInput('a wrong datatype is a 400 naming datatype', async (t) => {
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: tensorInput({ datatype: 'INT64' }) }), 400, 'invalid_input', 'input.inputs[0].datatype');
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: tensorInput({ datatype: 'FP128' }) }), 400, 'invalid_input', 'input.inputs[0].datatype');
});

badInput('an unknown job id is a 404', async (t) => {
  await expectError(t, await call(node, 'GET', '/v1/jobs/job_01JUNKNOWNJUNKNOWNJUNKNOWN'), 404, 'not_found');
  await expectError(t, await call(node, 'DELETE', '/v1/jobs/nope'), 404, 'not_found');
});

badInput('control characters in Idempotency-Key are a 400', async (t) => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(`${node.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'a\tb' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(JSON.stringify(TENSOR_JOB));
  });
  t.equal(status, 400);
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { 'idempotency-key': 'x'.repeat(300) } }), 400, 'invalid_request', 'Idempotency-Key');
});

badInput('path tricks in model and output names are 404s', async (t) => {
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, model: '../tiny-tensor' } }), 404, 'model_not_found');
  await expectError(t, await call(node, 'POST', '/v1/models/..%2F..%2Fetc/load'), 404, 'model_not_found');
  await expectError(t, await call(node, 'GET', '/v2/models/..%2Ftiny-tensor'), 404, 'model_not_found');
  const done = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { prefer: 'wait=30' } });
  for (const name of ['..%2F..%2Fetc%2Fpasswd', '.sealed', 'in-0.sealed', '%2e%2e']) {
    await expectError(t, await call(node, 'GET', `/v1/jobs/${done.body.id}/outputs/${name}`), 404, 'not_found');
  }
});

badInput('a webhook to a host that is not allowed is a 400 naming webhook', async (t) => {
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, webhook: 'https://evil.example.net/x' } }), 400, 'invalid_input', 'webhook');
});

badInput('an upload over the limit is a 413 and leaves nothing', async (t) => {
  const form = new FormData();
  form.append('job', JSON.stringify(TENSOR_JOB));
  form.append('big', new Blob([new Uint8Array(3000)]), 'big.bin');
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body: form }), 413, 'payload_too_large');
});

badInput('a multipart body without a boundary, with a malformed part or cut short is a 400, not a 500', async (t) => {
  const multipart = (body: string, type = 'multipart/form-data; boundary=zz') => call(node, 'POST', '/v1/jobs', { body, headers: { 'content-type': type } });
  const jobPart = `--zz\r\nContent-Disposition: form-data; name="job"\r\n\r\n${JSON.stringify(TENSOR_JOB)}\r\n`;
  await expectError(t, await multipart('x', 'multipart/form-data'), 400, 'invalid_request');
  await expectError(t, await multipart(`${jobPart}--zz\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n\r\nabcdef`), 400, 'invalid_request');
  await expectError(t, await multipart(jobPart.slice(0, 40)), 400, 'invalid_request');
});

t.test('a multipart body that ends before its close delimiter is a 400 saying so, on a tmpfs root too', async (t) => {
  // on tmpfs a file part is stored before the parser finds the body cut short: the root where that was accepted
  const root = await mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'infernode-test-'));
  const shm = await startNode({ config: { scratchDir: path.join(root, 'scratch') } });
  t.teardown(async () => {
    await shm.close();
    await rm(root, { recursive: true, force: true });
  });
  const send = (body: string) => call(shm, 'POST', '/v1/jobs', { body, headers: { 'content-type': 'multipart/form-data; boundary=zz' } });
  const job = `--zz\r\nContent-Disposition: form-data; name="job"\r\n\r\n${JSON.stringify(TENSOR_JOB)}\r\n`;
  const file = `--zz\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n\r\nabcdef\r\n`;
  const cases = {
    'a closing boundary without its final --': `${job}--zz`,
    'a closing boundary without its final --, then CRLF': `${job}--zz\r\n`,
    'a file part, then a closing boundary without its final --': `${job}${file}--zz`,
    // the job part is sent, but never delivered: "needs a job part" would send the client looking in the wrong place
    'a job part cut off mid-JSON': job.slice(0, 80),
  };
  for (const [name, body] of Object.entries(cases)) {
    const res = await send(body);
    await expectError(t, res, 400, 'invalid_request');
    t.match(res.body.error.message, /multipart body ends early/, name);
    t.same(await shm.jobScratch(), [], `nothing left in scratch: ${name}`);
  }
  t.equal((await call(shm, 'POST', '/v1/jobs', { body: `${job}${file}--zz--\r\n`, headers: { 'content-type': 'multipart/form-data; boundary=zz' } })).status, 202, 'the same body, closed, is a job');
});

badInput('a second job part is a 400, and a job part over --body-limit a 413, each naming job', async (t) => {
  const part = (job: string) => `--zz\r\nContent-Disposition: form-data; name="job"\r\n\r\n${job}\r\n`;
  const send = (body: string) => call(node, 'POST', '/v1/jobs', { body, headers: { 'content-type': 'multipart/form-data; boundary=zz' } });
  const job = JSON.stringify(TENSOR_JOB);
  await expectError(t, await send(`${part(job)}${part(job)}--zz--\r\n`), 400, 'invalid_request', 'job');
  await expectError(t, await send(`${part(JSON.stringify({ ...TENSOR_JOB, note: 'x'.repeat(5000) }))}--zz--\r\n`), 413, 'payload_too_large', 'job');
});

badInput('a job part declared application/json that is not JSON is a 400 naming job', async (t) => {
  const body = `--zz\r\nContent-Disposition: form-data; name="job"\r\nContent-Type: application/json\r\n\r\n{"type":\r\n--zz--\r\n`;
  await expectError(t, await call(node, 'POST', '/v1/jobs', { body, headers: { 'content-type': 'multipart/form-data; boundary=zz' } }), 400, 'invalid_request', 'job');
});

badInput('a multipart request declaring more than --upload-limit + --body-limit is a 413 before its body is read', async (t) => {
  const answer = await rawExchange(node, `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz\r\nContent-Length: 10000000000\r\n\r\n--zz\r\n`, 3000);
  t.match(answer, /^HTTP\/1\.1 413 /);
  t.match(answer, /connection: close/i);
});

badInput('a chunked multipart request whose preamble never ends is a 413 once past --upload-limit + --body-limit', async (t) => {
  // busboy skips a preamble (and part headers past its headerSize) without a bound: with no Content-Length to
  // refuse, only --request-timeout would end it
  const junk = 'x'.repeat(1000);
  const chunks = Array.from({ length: 10 }, () => `${junk.length.toString(16)}\r\n${junk}\r\n`).join('');
  const answer = await rawExchange(node, `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`, 3000);
  t.match(answer, /^HTTP\/1\.1 413 /);
  t.match(answer, /connection: close/i, 'the rest, which may never end, is not drained');
  t.match(answer, /at most --upload-limit \+ --body-limit, 6144 bytes/);
});

badInput('a client that disconnects mid-upload leaves nothing in scratch', async (t) => {
  const port = new URL(node.url).port;
  const boundary = 'xBOUNDARYx';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="job"\r\n\r\n${JSON.stringify(TENSOR_JOB)}\r\n--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(`POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 100000\r\n\r\n${head}`);
  socket.write(Buffer.alloc(1000, 7));
  await sleep(100);
  const before = node.logs.length;
  socket.destroy();
  for (let i = 0; i < 50 && !node.logs.slice(before).some((l) => l.includes('"access"')); i++) await sleep(20);
  const errors = node.logs.slice(before).filter((l) => JSON.parse(l).level >= 50);
  t.same(errors, [], 'a client that went away is not an internal error');
});
