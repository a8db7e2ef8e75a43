import './fastify-types.js';
import type { FastifyInstance } from 'fastify';

/**
 * One line per request: who, from where, which route, status, job, duration. The route pattern is logged,
 * never the URL (ids are fine, query strings are not), and never a header value or body.
 */
export function installAccessLog(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    const started = process.hrtime.bigint();
    reply.raw.once('close', () => {
      request.log.info(
        {
          access: true,
          token: request.principal?.name ?? null,
          client: request.ip,
          method: request.method,
          route: request.routeOptions.url ?? '(unmatched)',
          status: reply.raw.statusCode,
          jobId: request.jobId ?? null,
          duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'access',
      );
    });
    done();
  });
}
