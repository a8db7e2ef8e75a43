import type {} from './auth/plugin.js';
import type { Scope } from './principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** set by routes that concern one job, for the access log */
    jobId?: string;
  }
  interface FastifyContextConfig {
    /** the scope a route needs; routes without one need no token */
    scope?: Scope;
  }
}
