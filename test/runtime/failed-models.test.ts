import t from 'tap';
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { call, TENSOR_JOB } from '../helpers/http.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';
import { startNode } from '../helpers/node.js';

/** model directory → its files */
const BROKEN: Record<string, Record<string, string>> = {
  'bad-manifest': { 'infernode.json': '{ not json', 'model.onnx': '' },
  'bad-index': { 'model_index.json': '{ not json' },
  'unknown-type': { 'infernode.json': '{"type": "audio"}', 'model.onnx': '' },
  'chat-no-tokenizer': { 'config.json': '{}', 'onnx/model.onnx': '' },
  empty: {},
  'load-fails': { 'infernode.json': '{"type": "tensor"}', 'model.onnx': 'not an onnx graph' },
};

const modelsDir = await mkdtemp(path.join(os.tmpdir(), 'infernode-failed-models-'));
await cp(path.join(await fixtureModelsDir(['tiny-tensor']), 'tiny-tensor'), path.join(modelsDir, 'tiny-tensor'), { recursive: true });
for (const [name, files] of Object.entries(BROKEN)) {
  await mkdir(path.join(modelsDir, name, 'onnx'), { recursive: true });
  for (const [file, content] of Object.entries(files)) await writeFile(path.join(modelsDir, name, file), content);
}
const node = await startNode({ config: { modelsDir } });
t.teardown(() => node.close());

t.test('every model /v1/models lists as failed gets 503 not_ready with its reason, not 404', async (t) => {
  const listed = (await call(node, 'GET', '/v1/models')).body.data as Array<{ id: string; status: string; error?: string }>;
  for (const name of Object.keys(BROKEN)) {
    const entry = listed.find((m) => m.id === name);
    t.equal(entry?.status, 'failed', `${name} is listed as failed`);
    const res = await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, model: name } });
    t.equal(res.status, 503, name);
    t.equal(res.body.error.code, 'not_ready');
    t.equal(res.body.error.field, 'model');
    t.ok(res.body.error.message.endsWith(entry!.error!), `${name}: the message carries the reason: ${res.body.error.message}`);
  }
});

t.test('a load failure says so in the job\'s error', async (t) => {
  const res = await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, model: 'load-fails' } });
  t.match(res.body.error.message, /^model failed to load: /);
});

t.test('a name no directory has is still 404 model_not_found, and the good model serves', async (t) => {
  const res = await call(node, 'POST', '/v1/jobs', { body: { ...TENSOR_JOB, model: 'no-such-model' } });
  t.equal(res.status, 404);
  t.equal(res.body.error.code, 'model_not_found');
  t.equal((await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers: { prefer: 'wait=30' } })).body.status, 'succeeded');
});
