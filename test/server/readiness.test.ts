import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CONFIG } from '../../src/config/options.js';
import { buildNode } from '../../src/server/app.js';
import { nodeOptionsFromConfig } from '../../src/server/node-options.js';
import { fixtureModelsDir } from '../helpers/fixtures.js';

t.test('/readyz is 503 with reasons until the sweep ran and the preloads settled, then 200', async (t) => {
  const scratchDir = await mkdtemp(path.join(os.tmpdir(), 'infernode-ready-'));
  t.teardown(() => rm(scratchDir, { recursive: true, force: true }));
  const config = { ...structuredClone(DEFAULT_CONFIG), port: 0, device: 'cpu', logLevel: 'silent', scratchDir, modelsDir: await fixtureModelsDir(['tiny-tensor']) };
  const node = await buildNode(await nodeOptionsFromConfig(config));
  t.teardown(() => node.shutdown());
  const before = await node.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(before.statusCode, 503);
  t.equal(before.json().status, 'not_ready');
  t.match(before.json().reasons.join(' '), /sweep/);
  t.equal((await node.app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode, 503);
  t.equal((await node.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'alive while not ready');
  await node.start({ listen: false });
  const after = await node.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(after.statusCode, 200);
  t.same(after.json().models.map((m: { name: string; status: string }) => [m.name, m.status]), [['tiny-tensor', 'loaded']]);
  t.ok(after.json().ffmpeg, '/readyz shows the ffmpeg in use');
});

t.test('a model that fails to load is reported and the node serves the rest', async (t) => {
  const scratchDir = await mkdtemp(path.join(os.tmpdir(), 'infernode-ready-'));
  t.teardown(() => rm(scratchDir, { recursive: true, force: true }));
  const modelsDir = await mkdtemp(path.join(os.tmpdir(), 'infernode-models-broken-'));
  t.teardown(() => rm(modelsDir, { recursive: true, force: true }));
  const { cp, writeFile, mkdir } = await import('node:fs/promises');
  await cp(path.join(await fixtureModelsDir(['tiny-tensor']), 'tiny-tensor'), path.join(modelsDir, 'tiny-tensor'), { recursive: true });
  await mkdir(path.join(modelsDir, 'broken'));
  await writeFile(path.join(modelsDir, 'broken', 'model.onnx'), 'not an onnx graph');
  await writeFile(path.join(modelsDir, 'broken', 'infernode.json'), '{"type": "tensor"}');
  const config = { ...structuredClone(DEFAULT_CONFIG), port: 0, device: 'cpu', logLevel: 'silent', scratchDir, modelsDir };
  const node = await buildNode(await nodeOptionsFromConfig(config));
  t.teardown(() => node.shutdown());
  await node.start({ listen: false });
  const ready = await node.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200, 'ready for the models that loaded');
  t.match(ready.json().models.find((m: { name: string }) => m.name === 'broken'), { status: 'failed', error: /\S/ }, '/readyz says why the model failed');
  const models = (await node.app.inject({ method: 'GET', url: '/v1/models' })).json().data;
  t.same(models.map((m: { id: string; status: string }) => [m.id, m.status]).sort(), [['broken', 'failed'], ['tiny-tensor', 'loaded']]);
  const reload = await node.app.inject({ method: 'POST', url: '/v1/models/broken/load' });
  t.equal(reload.statusCode, 400);
  t.match(reload.json().error.message, /failed to load/);
  // a failed reload of a loaded model keeps the loaded copy serving
  await writeFile(path.join(modelsDir, 'tiny-tensor', 'model.onnx'), 'corrupted on disk');
  const failedReload = await node.app.inject({ method: 'POST', url: '/v1/models/tiny-tensor/load' });
  t.equal(failedReload.statusCode, 400);
  t.match(failedReload.json().error.message, /keeps serving/);
  const job = await node.app.inject({
    method: 'POST',
    url: '/v1/jobs',
    headers: { prefer: 'wait=10' },
    payload: { type: 'tensor', model: 'tiny-tensor', input: { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] } },
  });
  t.equal(job.json().status, 'succeeded');
});
