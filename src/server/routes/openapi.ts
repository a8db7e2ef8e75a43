import type { FastifyPluginAsync } from 'fastify';

/** The OpenAPI 3 document that @fastify/swagger builds from the route schemas. */
export const openapiRoutes: FastifyPluginAsync = async (app) => {
  app.get('/openapi.json', { schema: { summary: 'This OpenAPI 3 document', tags: ['meta'] } }, async () => app.swagger());
};
