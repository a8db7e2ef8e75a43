import type { FastifyPluginAsync } from 'fastify';
import type { RouteContext } from './route-context.js';

export const healthRoutes: FastifyPluginAsync<RouteContext> = async (app, { readiness, metrics }) => {
  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['health'] } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { summary: 'Readiness: scratch swept, executors up, preloads settled', tags: ['health'] } }, async (_request, reply) => {
    metrics.ready.set(readiness.ready ? 1 : 0);
    if (readiness.ready) return { status: 'ready', ...readiness.report(), ...readiness.facts };
    void reply.header('Retry-After', '5');
    return reply.code(503).send({ status: readiness.draining ? 'draining' : 'not_ready', reasons: readiness.reasons(), ...readiness.report(), ...readiness.facts });
  });

  app.get('/v2/health/live', { schema: { summary: 'KServe v2 liveness', tags: ['kserve'] } }, async (_request, reply) => reply.code(200).send());
  app.get('/v2/health/ready', { schema: { summary: 'KServe v2 readiness', tags: ['kserve'] } }, async (_request, reply) => reply.code(readiness.ready ? 200 : 503).send());
};
