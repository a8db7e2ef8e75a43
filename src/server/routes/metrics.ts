import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

export interface MetricsRouteOptions {
  registry: Registry;
  /** false on the separate --metrics-port listener, which has no auth */
  requireScope: boolean;
}

export const metricsRoutes: FastifyPluginAsync<MetricsRouteOptions> = async (app, { registry, requireScope }) => {
  app.get('/metrics', { config: requireScope ? { scope: 'metrics' } : {}, schema: { summary: 'Prometheus metrics', tags: ['metrics'] } }, async (_request, reply) => {
    void reply.header('Content-Type', registry.contentType);
    return registry.metrics();
  });
};
