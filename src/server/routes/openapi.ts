import type { FastifyPluginAsync } from 'fastify';

/** The OpenAPI 3 document that @fastify/swagger builds from the route schemas. */
export const openapiRoutes: FastifyPluginAsync = async (app) => {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
