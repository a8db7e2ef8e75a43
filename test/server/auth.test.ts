import t from 'tap';
import { startNode } from '../helpers/node.js';
import { TENSOR_JOB, call } from '../helpers/http.js';

const T = {
  writer: 'tok-writer-5b0e8c2a91f4',
  reader: 'tok-reader-77aa10c3e2d9',
  other: 'tok-other-0c4f9d1e8a2b7',
  admin: 'tok-admin-9e1d2c3b4a5f6',
  prom: 'tok-metrics-3f2e1d0c9b8a',
};
const node = await startNode({
  tokens: [
    '# token scopes name',
    `${T.writer} jobs:write,jobs:read writer`,
    `${T.reader} jobs:read reader`,
    `${T.other} jobs:write,jobs:read other`,
    `${T.admin} models:admin,jobs:read,jobs:write admin`,
    `${T.prom} metrics prometheus`,
  ].join('\n'),
});
t.teardown(() => node.close());

t.test('no token or an unknown token is a 401 with WWW-Authenticate', async (t) => {
  for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${T.writer}x` }, { authorization: 'Bearer tok-writer-5b0e8c2a91f5' }, { authorization: 'Bearer short' }]) {
    const res = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, headers });
    t.equal(res.status, 401);
    t.equal(res.headers.get('www-authenticate'), 'Bearer');
    t.equal(res.body.error.code, 'unauthorized');
  }
});

t.test('a malformed Authorization header is a 401, never a 500', async (t) => {
  for (const value of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer  ', `bearer${T.writer}`, `Bearer ${T.writer} extra`, 'x'.repeat(5000), `Bearer ${'é'.repeat(10)}`]) {
    const res = await fetch(`${node.url}/v1/jobs`, { headers: { authorization: value } }).catch(() => null);
    if (res) t.equal(res.status, 401, value.slice(0, 20));
  }
});

t.test('a valid token without the scope is a 403 naming the scope', async (t) => {
  const res = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, token: T.reader });
  t.equal(res.status, 403);
  t.equal(res.body.error.code, 'forbidden');
  t.match(res.body.error.message, /jobs:write/);
  t.equal((await call(node, 'GET', '/metrics', { token: T.writer })).status, 403);
  t.equal((await call(node, 'POST', '/v1/models/tiny-tensor/load', { token: T.writer })).status, 403);
});

t.test("the OpenAI routes refuse a missing token or scope in OpenAI's error shape", async (t) => {
  const bodies: Record<string, unknown> = {
    '/v1/chat/completions': { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
    '/v1/completions': { model: 'm', prompt: 'hi' },
    '/v1/images/generations': { model: 'm', prompt: 'hi' },
  };
  for (const [route, body] of Object.entries(bodies)) {
    for (const [token, status, code] of [[undefined, 401, 'unauthorized'], [T.reader, 403, 'forbidden']] as const) {
      const res = await call(node, 'POST', route, { body, ...(token ? { token } : {}) });
      t.equal(res.status, status, `${route} ${status}`);
      t.match(res.body, { error: { message: String, type: String, param: null, code } }, `${route} ${status}: OpenAI's shape`);
      t.match(res.headers.get('www-authenticate'), /^Bearer/);
    }
  }
});

t.test('each scope opens its routes', async (t) => {
  t.equal((await call(node, 'GET', '/metrics', { token: T.prom })).status, 200);
  t.equal((await call(node, 'POST', '/v1/models/tiny-tensor/load', { token: T.admin })).status, 200);
  t.equal((await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, token: T.writer })).status, 202);
});

t.test('health routes need no token', async (t) => {
  for (const route of ['/healthz', '/readyz', '/v2/health/live', '/v2/health/ready']) t.equal((await call(node, 'GET', route)).status, 200, route);
});

t.test('a job belongs to its token: others get 404, models:admin reads it', async (t) => {
  const job = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, token: T.writer, headers: { prefer: 'wait=10' } });
  t.equal((await call(node, 'GET', `/v1/jobs/${job.body.id}`, { token: T.writer })).status, 200);
  t.equal((await call(node, 'GET', `/v1/jobs/${job.body.id}`, { token: T.other })).status, 404);
  t.equal((await call(node, 'DELETE', `/v1/jobs/${job.body.id}`, { token: T.other })).status, 404);
  t.equal((await call(node, 'GET', `/v1/jobs/${job.body.id}/events`, { token: T.other })).status, 404);
  t.equal((await call(node, 'GET', `/v1/jobs/${job.body.id}`, { token: T.admin })).status, 200);
  const list = await call(node, 'GET', '/v1/jobs', { token: T.other });
  t.notOk(list.body.jobs.some((j: { id: string }) => j.id === job.body.id));
  t.equal((await call(node, 'GET', `/v1/jobs/${job.body.id}`, { token: T.reader })).status, 404, 'read scope does not open other tokens\' jobs');
});

t.test('the same Idempotency-Key from another token is another job', async (t) => {
  const a = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, token: T.writer, headers: { 'idempotency-key': 'k-1' } });
  const b = await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB, token: T.other, headers: { 'idempotency-key': 'k-1' } });
  t.not(a.body.id, b.body.id);
});

t.test('refusals are counted as unauthorized, and access lines name the token, never the token itself', async (t) => {
  await call(node, 'POST', '/v1/jobs', { body: TENSOR_JOB });
  const metrics = await call(node, 'GET', '/metrics', { token: T.prom });
  t.match(metrics.text, /infernode_jobs_rejected_total\{reason="unauthorized"\} [1-9]/);
  t.ok(node.logs.some((l) => l.includes('"token":"writer"')));
  for (const secret of Object.values(T)) t.notOk(node.logs.some((l) => l.includes(secret)), 'no token value in the logs');
});

t.test('the routes that need no token are exactly the ones the docs list', async (t) => {
  const spec = (await call(node, 'GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
  const open: string[] = [];
  for (const [route, methods] of Object.entries(spec.paths)) {
    const url = route.replace(/\{[^}]+\}/g, 'x');
    for (const method of Object.keys(methods).filter((m) => m !== 'head')) {
      const res = await fetch(node.url + url, { method: method.toUpperCase() });
      if (res.status !== 401) open.push(route);
    }
  }
  t.same(open.sort(), ['/healthz', '/openapi.json', '/readyz', '/v2/health/live', '/v2/health/ready']);
});
