import t from 'tap';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { call } from '../helpers/http.js';
import { startNode } from '../helpers/node.js';

t.test('an output whose file was removed from scratch behind the node is a 404, not a 500', async (t) => {
  const node = await startNode({ models: ['tiny-sd'] });
  t.teardown(() => node.close());
  const job = { type: 'image', model: 'tiny-sd', input: { prompt: 'a red square', width: 64, height: 64, steps: 2, seed: 1 } };
  const done = await call(node, 'POST', '/v1/jobs', { body: job, headers: { prefer: 'wait=60' } });
  t.equal(done.body.status, 'succeeded');
  await rm(path.join(node.scratchDir, done.body.id), { recursive: true });
  const res = await call(node, 'GET', done.body.outputs[0].url);
  t.equal(res.status, 404);
  t.equal(res.body.error.code, 'not_found');
});
