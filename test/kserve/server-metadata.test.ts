import t from 'tap';
import { readFile } from 'node:fs/promises';
import { startNode } from '../helpers/node.js';
import { call } from '../helpers/http.js';

const READER = 'tok-reader-77aa10c3e2d9';
const METRICS = 'tok-metrics-3f2e1d0c9b8a';
const node = await startNode({ tokens: `${READER} jobs:read reader\n${METRICS} metrics prometheus` });
t.teardown(() => node.close());

t.test("GET /v2 is the KServe server metadata: the node's name, its package version and the extensions it supports", async (t) => {
  const { version } = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8'));
  const res = await call(node, 'GET', '/v2', { token: READER });
  t.equal(res.status, 200);
  t.same(res.body, { name: 'infernode', version, extensions: ['binary_tensor_data'] });
});

t.test('GET /v2 needs jobs:read, like the model metadata', async (t) => {
  t.equal((await call(node, 'GET', '/v2')).status, 401);
  t.equal((await call(node, 'GET', '/v2', { token: METRICS })).status, 403);
});
