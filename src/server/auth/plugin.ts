import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';
import type { Principal } from '../principal.js';
import '../fastify-types.js';
import { ANONYMOUS, UNAUTHENTICATED, requireScope, type Authenticator } from './authenticator.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the caller: a token's holder on routes with `config.scope`; anonymous elsewhere */
    principal: Principal;
  }
}

export interface AuthPluginOptions {
  authenticator: Authenticator;
}

/**
 * Guards every route that declares `config: { scope }`; routes without one (health) need no token.
 * Wrapped by fastify-plugin so the hook reaches the routes registered beside it, not only inside it.
 */
const auth: FastifyPluginAsync<AuthPluginOptions> = async (app, { authenticator }) => {
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (request, reply) => {
    const scope = request.routeOptions.config.scope;
    if (scope === undefined) {
      request.principal = authenticator.enabled ? UNAUTHENTICATED : ANONYMOUS;
      return;
    }
    // thrown, not sent: the route's own error handler words it (OpenAI's shape on the OpenAI routes)
    const refuse = (err: ApiError): never => {
      void reply.header('WWW-Authenticate', err.code === 'forbidden' ? `Bearer error="insufficient_scope", scope="${scope}"` : 'Bearer');
      throw err;
    };
    const who = authenticator.authenticate(request.headers.authorization);
    if (who instanceof ApiError) return refuse(who);
    const lacking = requireScope(who, scope);
    if (lacking) return refuse(lacking);
    request.principal = who;
  });
};

export const authPlugin = fp(auth, { name: 'infernode-auth', fastify: '5.x' });
