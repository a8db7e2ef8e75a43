import Fastify, { type FastifyInstance } from 'fastify';
import t from 'tap';
import { Authenticator } from '../../src/server/auth/authenticator.js';
import { authPlugin } from '../../src/server/auth/plugin.js';
import { installErrorHandling } from '../../src/server/error-handler.js';
import { parseTokensFile } from '../../src/server/auth/tokens-file.js';

const WRITER = 'writer-0123456789abcdef';
const READER = 'reader-0123456789abcdef';
const TOKENS = parseTokensFile(`${WRITER} jobs:write,jobs:read writer\n${READER} jobs:read reader\n`);

async function app(authenticator: Authenticator): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  // as the node does: refusals are thrown to the error handler, which words them
  installErrorHandling(app);
  await app.register(authPlugin, { authenticator });
  app.get('/healthz', async (request) => ({ who: request.principal.name }));
  app.post('/v1/jobs', { config: { scope: 'jobs:write' } }, async (request) => ({ who: request.principal.name }));
  app.get('/v1/jobs', { config: { scope: 'jobs:read' } }, async (request) => ({ who: request.principal.name }));
  return app;
}

t.test('a route without a scope needs no token', async (t) => {
  const res = await (await app(Authenticator.fromTokens(TOKENS))).inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 200);
});

t.test('a scoped route without a token is a 401 with WWW-Authenticate: Bearer', async (t) => {
  const res = await (await app(Authenticator.fromTokens(TOKENS))).inject({ method: 'GET', url: '/v1/jobs' });
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], 'Bearer');
  t.equal(res.json().error.code, 'unauthorized');
});

t.test('an unknown token is a 401', async (t) => {
  const res = await (await app(Authenticator.fromTokens(TOKENS))).inject({ method: 'GET', url: '/v1/jobs', headers: { authorization: `Bearer ${'z'.repeat(WRITER.length)}` } });
  t.equal(res.statusCode, 401);
  t.equal(res.json().error.code, 'unauthorized');
});

t.test('a token without the route\'s scope is a 403 naming the scope', async (t) => {
  const res = await (await app(Authenticator.fromTokens(TOKENS))).inject({ method: 'POST', url: '/v1/jobs', headers: { authorization: `Bearer ${READER}` } });
  t.equal(res.statusCode, 403);
  t.equal(res.json().error.code, 'forbidden');
  t.match(res.json().error.message, /jobs:write/);
  t.match(res.headers['www-authenticate'], /insufficient_scope/);
});

t.test('a token with the scope reaches the route as its named principal', async (t) => {
  const res = await (await app(Authenticator.fromTokens(TOKENS))).inject({ method: 'POST', url: '/v1/jobs', headers: { authorization: `Bearer ${WRITER}` } });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { who: 'writer' });
});

t.test('a huge or binary Authorization header is a 401, not a 500', async (t) => {
  const server = await app(Authenticator.fromTokens(TOKENS));
  for (const authorization of [`Bearer ${'A'.repeat(60_000)}`, 'Bearer \u00ff\u00fe', 'Bearer a b', 'Token abc'])
    t.equal((await server.inject({ method: 'GET', url: '/v1/jobs', headers: { authorization } })).statusCode, 401);
});

t.test('with auth off every route is open to an anonymous caller', async (t) => {
  const res = await (await app(Authenticator.disabled())).inject({ method: 'POST', url: '/v1/jobs' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { who: 'anonymous' });
});
