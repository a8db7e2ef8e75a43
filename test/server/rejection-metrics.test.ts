import Fastify from 'fastify';
import t from 'tap';
import { Authenticator } from '../../src/server/auth/authenticator.js';
import { authPlugin } from '../../src/server/auth/plugin.js';
import { parseTokensFile } from '../../src/server/auth/tokens-file.js';
import { installErrorHandling } from '../../src/server/error-handler.js';
import { ApiError } from '../../src/server/errors.js';
import { countRejections, type RejectionReason } from '../../src/server/rejection-metrics.js';

const WRITER = 'writer-0123456789abcdef';
const READER = 'reader-0123456789abcdef';
const TOKENS = parseTokensFile(`${WRITER} jobs:write,jobs:read writer\n${READER} jobs:read reader\n`);

/** A node's error handling, auth and rejection count, with routes that refuse as the real ones do. */
async function app() {
  const counted: RejectionReason[] = [];
  const app = Fastify({ logger: false, bodyLimit: 1024 });
  installErrorHandling(app);
  countRejections(app, (reason) => counted.push(reason));
  await app.register(authPlugin, { authenticator: Authenticator.fromTokens(TOKENS) });
  const write = { config: { scope: 'jobs:write' as const } };
  app.post('/v1/jobs', write, async (request) => {
    const body = request.body as { refuse?: 'queue_full' | 'draining' | 'invalid_input' | 'internal' };
    if (body.refuse === 'internal') throw new Error('a bug');
    if (body.refuse) throw new ApiError(body.refuse, 'refused');
    return { ok: true };
  });
  app.delete('/v1/jobs/:id', write, async () => {
    throw new ApiError('not_found', 'no such job');
  });
  app.get('/v1/jobs', { config: { scope: 'jobs:read' } }, async () => ({ jobs: [] }));
  const post = (body: string, authorization = `Bearer ${WRITER}`, type = 'application/json') =>
    app.inject({ method: 'POST', url: '/v1/jobs', payload: body, headers: { authorization, 'content-type': type } });
  return { app, counted, post };
}

t.test("Fastify's own refusals of a submission's body are counted as invalid", async (t) => {
  const { counted, post } = await app();
  t.equal((await post('not json')).statusCode, 400);
  t.equal((await post(JSON.stringify({ pad: 'x'.repeat(2000) }))).statusCode, 413);
  t.equal((await post('<job/>', `Bearer ${WRITER}`, 'application/xml')).statusCode, 415);
  t.same(counted, ['invalid', 'invalid', 'invalid']);
});

t.test("a route's and the job service's refusals are counted by their reason, once", async (t) => {
  const { counted, post } = await app();
  await post(JSON.stringify({ refuse: 'invalid_input' }));
  await post(JSON.stringify({ refuse: 'queue_full' }));
  await post(JSON.stringify({ refuse: 'draining' }));
  t.equal((await post('{}')).statusCode, 200);
  t.same(counted, ['invalid', 'queue_full', 'draining']);
});

t.test('401s and 403s of a submission count as unauthorized; reads, cancels and bugs are not refusals', async (t) => {
  const { app: server, counted, post } = await app();
  t.equal((await post('{}', `Bearer ${READER}`)).statusCode, 403);
  t.equal((await post('{}', 'Bearer unknown-token-0123456789')).statusCode, 401);
  t.equal((await server.inject({ method: 'GET', url: '/v1/jobs' })).statusCode, 401);
  t.equal((await server.inject({ method: 'DELETE', url: '/v1/jobs/j1', headers: { authorization: `Bearer ${WRITER}` } })).statusCode, 404);
  t.equal((await post(JSON.stringify({ refuse: 'internal' }))).statusCode, 500);
  t.same(counted, ['unauthorized', 'unauthorized']);
});
