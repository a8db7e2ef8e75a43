import net from 'node:net';
import { once } from 'node:events';
import t, { type Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNode } from '../helpers/node.js';
import { call, rawExchange } from '../helpers/http.js';
import { float32s, inferInput, postInfer, rawRequest, requestedOutput, tinyTensorOutputs, tritonRequest, type TritonResult } from './triton-client.js';

const BODY_LIMIT = 4096;
const UPLOAD_LIMIT = 2048;
const node = await startNode({ config: { bodyLimitBytes: BODY_LIMIT, uploadLimitBytes: UPLOAD_LIMIT } });
t.teardown(() => node.close());

const VALUES = new Float32Array([1, 2, 3, 4]);
const input = (binaryData = true) => inferInput('input', 'FP32', [1, 4], VALUES, binaryData);
const want = await tinyTensorOutputs(node, VALUES, [1, 4]);

async function scratchIsEmpty(t: Test): Promise<void> {
  for (let i = 0; i < 100 && (await node.jobScratch()).length; i++) await sleep(20);
  t.same(await node.jobScratch(), [], 'nothing left in scratch');
}

/** Each refusal names its field, leaves nothing in scratch, and the node answers the next request. */
function refusal(name: string, send: () => Promise<TritonResult>, status: number, field: string | undefined): void {
  t.test(name, async (t) => {
    const res = await send();
    t.equal(res.status, status, JSON.stringify(res.json));
    t.equal(res.json.error?.field, field);
    t.ok(res.json.error?.message.length > 10, 'the message says what is wrong');
    await scratchIsEmpty(t);
    t.equal((await postInfer(node, tritonRequest([input()]))).status, 200, 'the next request is answered');
  });
}

t.test('a tritonclient request with binary inputs and no outputs named gets every output as binary data', async (t) => {
  const res = await postInfer(node, tritonRequest([input()]));
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-type'), 'application/octet-stream');
  t.same(res.json.outputs.map((o: { name: string }) => o.name), ['output', 'sum']);
  for (const output of res.json.outputs) {
    t.notOk('data' in output, `${output.name} has no JSON data`);
    t.same(float32s(res.binary.get(output.name)!), want[output.name], `${output.name} is what onnxruntime computes`);
  }
  t.equal(res.json.outputs[0].parameters.binary_data_size, 16);
  await scratchIsEmpty(t);
});

t.test('outputs asked as binary and as JSON come back each in its form, in the order asked', async (t) => {
  const res = await postInfer(node, tritonRequest([input()], [requestedOutput('sum'), requestedOutput('output', false)]));
  t.equal(res.status, 200);
  t.same(res.json.outputs.map((o: { name: string }) => o.name), ['sum', 'output']);
  t.same(float32s(res.binary.get('sum')!), want.sum);
  t.same(res.json.outputs[1].data, want.output);
  t.notOk(res.binary.has('output'));
});

t.test('a tritonclient request with binary_data=False throughout (JSON, no Content-Type) is answered in JSON', async (t) => {
  const res = await postInfer(node, tritonRequest([input(false)], [requestedOutput('output', false), requestedOutput('sum', false)]));
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^application\/json/);
  t.equal(res.headers.get('inference-header-content-length'), null);
  for (const output of res.json.outputs) t.same(output.data, want[output.name]);
});

t.test('a JSON request (application/json) may ask for its outputs as binary data', async (t) => {
  const body = { inputs: [input(false).tensor], parameters: { binary_data_output: true } };
  const res = await postInfer(node, { body: Buffer.from(JSON.stringify(body)), headers: { 'content-type': 'application/json' } });
  t.equal(res.status, 200);
  t.same(float32s(res.binary.get('output')!), want.output);
});

t.test('application/octet-stream is taken by infer and by no other route', async (t) => {
  const { body, headers } = tritonRequest([input()]);
  const res = await postInfer(node, { body, headers: { ...headers, 'content-type': 'application/octet-stream' } });
  t.equal(res.status, 200);
  t.same(float32s(res.binary.get('sum')!), want.sum);
  const jobs = await call(node, 'POST', '/v1/jobs', { body: body.toString('latin1'), headers: { 'content-type': 'application/octet-stream' } });
  t.equal(jobs.status, 415);
  await scratchIsEmpty(t);
});

const header = (inputs: object[], extra: object = {}) => JSON.stringify({ inputs, ...extra });
const binaryTensor = (size: number, over: object = {}) => ({ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: size }, ...over });
const bytes = (n: number) => Buffer.alloc(n, 1);
const withHeader = (request: { body: Buffer; headers: Record<string, string> }, value: string) => ({ ...request, headers: { 'inference-header-content-length': value } });

refusal('an Inference-Header-Content-Length that is not a number is a 400 naming it', () => postInfer(node, withHeader(rawRequest(header([binaryTensor(16)]), [bytes(16)]), '12abc')), 400, 'Inference-Header-Content-Length');

refusal('an Inference-Header-Content-Length larger than the body is a 400 naming it', () => postInfer(node, withHeader(rawRequest(header([binaryTensor(16)]), [bytes(16)]), '100000')), 400, 'Inference-Header-Content-Length');

refusal('a JSON header that is not JSON is a 400 naming Inference-Header-Content-Length', () => postInfer(node, withHeader(rawRequest(header([binaryTensor(16)]), [bytes(16)]), '10')), 400, 'Inference-Header-Content-Length');

refusal('a binary_data_size past the end of the body is a 400 naming it', () => postInfer(node, rawRequest(header([binaryTensor(16)]), [bytes(12)])), 400, 'inputs[0].parameters.binary_data_size');

refusal('bytes after the last binary input are a 400 naming its binary_data_size', () => postInfer(node, rawRequest(header([binaryTensor(16)]), [bytes(20)])), 400, 'inputs[0].parameters.binary_data_size');

refusal('a binary_data_size that does not match shape × datatype is a 400 naming it', () => postInfer(node, rawRequest(header([binaryTensor(12)]), [bytes(12)])), 400, 'inputs[0].parameters.binary_data_size');

refusal('a binary_data_size that is not a byte count is a 400 naming it', () => postInfer(node, rawRequest(header([binaryTensor(-16)]), [bytes(16)])), 400, 'inputs[0].parameters.binary_data_size');

refusal('data and binary_data_size both given is a 400 naming data', () => postInfer(node, rawRequest(header([binaryTensor(16, { data: [1, 2, 3, 4] })]), [bytes(16)])), 400, 'inputs[0].data');

refusal('binary_data_size without Inference-Header-Content-Length is a 400 naming it', () => postInfer(node, { body: Buffer.from(header([binaryTensor(16)])), headers: {} }), 400, 'inputs[0].parameters.binary_data_size');

refusal('a binary_data_output that is not a boolean is a 400 naming it', () => postInfer(node, rawRequest(header([binaryTensor(16)], { parameters: { binary_data_output: 'yes' } }), [bytes(16)])), 400, 'parameters.binary_data_output');

refusal('an input the model lacks is a 400 after its bytes were staged, which are erased', () => postInfer(node, rawRequest(header([binaryTensor(16, { name: 'nosuch' })]), [bytes(16)])), 400, 'inputs[0].name');

refusal('binary data over --upload-limit is a 413', () => {
  const rows = UPLOAD_LIMIT / 16 + 1;
  return postInfer(node, rawRequest(header([binaryTensor(rows * 16, { shape: [rows, 4] })]), [bytes(rows * 16)]));
}, 413, undefined);

refusal('a JSON header over --body-limit is a 413 naming Inference-Header-Content-Length', () => postInfer(node, rawRequest(header([binaryTensor(16)], { id: 'x'.repeat(BODY_LIMIT) }), [bytes(16)])), 413, 'Inference-Header-Content-Length');

t.test('a client that stops inside its JSON header is not an internal error, and leaves nothing in scratch', async (t) => {
  const json = header([binaryTensor(16)]);
  const head = ['POST /v2/models/tiny-tensor/infer HTTP/1.1', 'Host: 127.0.0.1', `Content-Length: ${json.length + 16}`, `Inference-Header-Content-Length: ${json.length}`, '', ''].join('\r\n');
  const socket = net.connect(Number(new URL(node.url).port), '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  // the route is reading the header when the body ends
  socket.write(head + json.slice(0, 10));
  await sleep(300);
  socket.end();
  await Promise.race([once(socket, 'close'), sleep(1000)]);
  socket.destroy();
  t.notMatch(node.logs.join('\n'), /internal error/);
  await scratchIsEmpty(t);
  t.equal((await postInfer(node, tritonRequest([input()]))).status, 200, 'the node answers the next request');
});

t.test('a client that goes away in the middle of its binary data leaves nothing in scratch', async (t) => {
  const json = header([binaryTensor(1024, { shape: [64, 4] })]);
  const head = [
    'POST /v2/models/tiny-tensor/infer HTTP/1.1',
    'Host: 127.0.0.1',
    `Content-Length: ${json.length + 1024}`,
    `Inference-Header-Content-Length: ${json.length}`,
    '',
    '',
  ].join('\r\n');
  await rawExchange(node, Buffer.concat([Buffer.from(head + json), bytes(500)]), 300);
  await scratchIsEmpty(t);
  t.equal((await postInfer(node, tritonRequest([input()]))).status, 200, 'the node answers the next request');
});
